#!/usr/bin/env bash
# The image stage: builds the judge's image from the Dockerfile with buildah (base: the local
# stand-in, scripts/base-image.sh), runs it with podman as deploy/canary-judge runs it against a
# real Prometheus (container.test.ts), writes its CycloneDX SBOM (scripts/sbom.sh) to
# dist/image/sbom.cdx.json and checks it against the image's files (sbom.test.ts), and prints the
# image's size. Cold, the base image and the Node runtime are made once into the cache; warm,
# buildah reuses its layers.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in buildah podman; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (.ci/run installs it)" >&2; exit 1; }
done
t0=$SECONDS
tag=localhost/canary-judge:ci
# One retry: the build's npm ci goes to the registry, and one dropped connection is no verdict
# on the Dockerfile.
id=$(nice -n 10 bash scripts/build-image.sh "$tag") || {
  echo "image: build failed; retrying once" >&2
  id=$(nice -n 10 bash scripts/build-image.sh "$tag")
}
echo "image: built $tag ($id) in $((SECONDS - t0))s"
# The scan stage (test/scan/run.sh) takes this very image by its ID.
mkdir -p dist/image
echo "$id" >dist/image/image-id

app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
sbom=dist/image/sbom.cdx.json
bash scripts/sbom.sh "$id" "$sbom" "$app/app"
count=$(node -e "
  const flat = (l) => (l ?? []).flatMap((c) => [c, ...flat(c.components)]);
  const all = flat(require('./$sbom').components);
  const n = (p) => all.filter((c) => (c.purl ?? '').startsWith(p)).length;
  console.log(n('pkg:npm/') + ' npm and ' + n('pkg:deb/') + ' Debian packages')")
echo "image: SBOM $sbom lists $count"

CANARY_JUDGE_IMAGE="$id" CANARY_JUDGE_SBOM="$sbom" CANARY_JUDGE_APP_DIR="$app/app" \
  npx vitest run --dir test/image

# Dangling layers of older builds: kept a week as the build cache, then dropped.
podman image prune --force --filter until=168h >/dev/null || true
size=$(podman image inspect --format '{{.Size}}' "$id")
echo "image: $tag is $((size / 1000000)) MB uncompressed; the stage took $((SECONDS - t0))s"
