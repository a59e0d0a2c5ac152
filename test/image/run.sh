#!/usr/bin/env bash
# The image stage: builds the judge's image from the Dockerfile with buildah (base: the local
# stand-in, scripts/base-image.sh), runs it with podman as deploy/canary-judge runs it against a
# real Prometheus (test/image/container.test.ts), checks its inventory (test/image/sbom.sh) and
# prints its size. Cold, the base and the runtime are built once into the cache; warm, buildah
# reuses its layers.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in buildah podman; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (.ci/run installs it)" >&2; exit 1; }
done
t0=$SECONDS
tag=localhost/canary-judge:ci
id=$(nice -n 10 bash scripts/build-image.sh "$tag")
echo "image: built $tag ($id) in $((SECONDS - t0))s"
CANARY_JUDGE_IMAGE="$id" npx vitest run --dir test/image
# Dangling layers of older builds: kept a week as the build cache, then dropped.
podman image prune --force --filter until=168h >/dev/null || true
size=$(podman image inspect --format '{{.Size}}' "$id")
echo "image: $tag is $((size / 1000000)) MB uncompressed ($size bytes); stage took $((SECONDS - t0))s"
