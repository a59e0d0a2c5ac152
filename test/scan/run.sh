#!/usr/bin/env bash
# The scan stage, on the image the image stage built (its ID in dist/image/image-id, or
# CANARY_JUDGE_IMAGE): scripts/scan-image.sh judges its npm packages (osv-scanner, offline, the
# advisories of security/advisories), its Node.js runtime and its Debian packages (the current
# bookworm-security index) and fails the stage on any finding the allow-list
# (security/allow-list.yaml) does not accept. Then the proof that this gate bites: the same image
# plus lodash 4.17.15, minimist 1.2.0 and a Debian package older than its security update
# (test/scan/seed.sh) must fail the same scan with those findings named (gate.test.ts).
# Reports and raw inputs are kept in dist/scan/.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in buildah podman apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "scan: $tool is missing (.ci/run installs it)" >&2; exit 1; }
done
t0=$SECONDS
id=${CANARY_JUDGE_IMAGE:-$(cat dist/image/image-id 2>/dev/null || true)}
[ -n "$id" ] || { echo "scan: no image: run test/image/run.sh first (or set CANARY_JUDGE_IMAGE)" >&2; exit 1; }
bash scripts/osv-scanner.sh >/dev/null

# The security index is fetched once for both scans.
apt_dir=$(mktemp -d)
seeded=localhost/canary-judge:scan-seeded
cleanup() {
  rm -rf "$apt_dir"
  # --no-prune: the built image is the seeded one's parent; it stays whether tagged or not.
  podman rmi --no-prune "$seeded" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export CANARY_JUDGE_SECURITY_APT_DIR=$apt_dir
rm -rf dist/scan
mkdir -p dist/scan/image dist/scan/seeded

echo "scan: the built image ($id)"
sbom=dist/image/sbom.cdx.json
CANARY_JUDGE_SCAN_OUT=dist/scan/image CANARY_JUDGE_SBOM=$([ -f "$sbom" ] && echo "$sbom") \
  bash scripts/scan-image.sh "$id"
echo "scan: the built image passed in $((SECONDS - t0))s"

t1=$SECONDS
bash test/scan/seed.sh "$id" "$seeded" dist/scan/seeded/seed.env >/dev/null
echo "scan: seeded image assembled in $((SECONDS - t1))s: $(tr '\n' ' ' <dist/scan/seeded/seed.env)"
CANARY_JUDGE_SEEDED_IMAGE=$seeded CANARY_JUDGE_SCAN_DIR=dist/scan/seeded npx vitest run --dir test/scan
echo "scan: the seeded image's report, as expected a failure:"
sed 's/^/  | /' dist/scan/seeded/report.txt
echo "scan: the stage took $((SECONDS - t0))s"
