#!/usr/bin/env bash
# Writes a CycloneDX SBOM (JSON, spec 1.6) of what the judge's image holds: its npm packages
# (copies /app out of the image and runs the CycloneDX npm generator, validated, over that
# production install, so the inventory is of what ships, not of the repository's lockfile), then
# the operating system, every installed Debian package (the image's dpkg status) and the Node.js
# runtime (scripts/sbom-os.ts): the components the scan stage judges.
#   scripts/sbom.sh IMAGE OUT_FILE [APP_DIR]
# APP_DIR, when given, keeps the copied /app there (the image stage checks it against the SBOM).
#   CONTAINER_ENGINE   podman (default) or docker
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
image=${1:?usage: scripts/sbom.sh IMAGE OUT_FILE [APP_DIR]}
out=${2:?usage: scripts/sbom.sh IMAGE OUT_FILE [APP_DIR]}
engine=${CONTAINER_ENGINE:-podman}
tmp=$(mktemp -d)
ctr=""
cleanup() {
  [ -z "$ctr" ] || "$engine" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ctr=$("$engine" create "$image")
"$engine" cp "$ctr:/app" "$tmp/app"
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
# --omit dev: the image holds no dev dependency for npm to find (the stage checks that on the
# files themselves); without it npm would report every one of them as missing.
(cd "$tmp/app" && "$here/node_modules/.bin/cyclonedx-npm" --omit dev --spec-version 1.6 \
  --output-reproducible --validate --output-format JSON --output-file "$out")
"$engine" cp "$ctr:/var/lib/dpkg/status" "$tmp/dpkg-status"
"$engine" cp "$ctr:/etc/debian_version" "$tmp/debian_version"
node_version=$("$engine" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" |
  sed -n 's/^NODE_VERSION=//p')
[ -n "$node_version" ] || { echo "sbom: the image sets no NODE_VERSION" >&2; exit 1; }
"$here/node_modules/.bin/tsx" "$here/scripts/sbom-os.ts" "$out" "$tmp/dpkg-status" "$(cat "$tmp/debian_version")" \
  "$node_version"
if [ -n "${3:-}" ]; then
  rm -rf "$3"
  mkdir -p "$(dirname "$3")"
  mv "$tmp/app" "$3"
fi
