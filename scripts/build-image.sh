#!/usr/bin/env bash
# Builds the judge's image from the Dockerfile with buildah, on this machine: first the metric
# plugin's reproducible binaries into plugins/metric/dist (scripts/build-plugin.sh; the Dockerfile
# copies them, no Go toolchain image is needed), then the image. The base comes from
# the local stand-in (scripts/base-image.sh; nothing is pulled), RUN steps share the host's
# network (to reach the npm registry), and when the host trusts an extra CA bundle for Node
# (NODE_EXTRA_CA_CERTS, e.g. behind a TLS-inspecting proxy) the build's npm is pointed at it
# through a mounted global npmrc. The date of Debian's security archive is passed as
# DEBIAN_UPDATES, so the cached layer that takes Debian's updates is rebuilt when that archive
# moves on. None of this changes the Dockerfile, which a registry-based
# pipeline builds as it is (.github/workflows/judge.yml).
#   scripts/build-image.sh [TAG]     default TAG: localhost/canary-judge:<package version>
#   CANARY_JUDGE_BASE=registry       pull the Dockerfile's base from its registry instead (CI
#                                    runners that reach Docker Hub)
# Prints the image ID.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$here/package.json').version")
tag=${1:-localhost/canary-judge:$version}
source "$here/scripts/lib/runtime-versions.sh"
args_base=()
case "${CANARY_JUDGE_BASE:-local}" in
  local) bash "$here/scripts/base-image.sh" >/dev/null; pull=never ;;
  # Fully qualified, so no registries.conf short-name policy comes into play.
  registry) pull=missing; args_base=(--build-arg "NODE_IMAGE=docker.io/library/$NODE_IMAGE") ;;
  *) echo "build-image: CANARY_JUDGE_BASE must be local or registry" >&2; exit 2 ;;
esac

# The plugin binaries the Dockerfile copies (Go's build cache makes a rebuild take seconds).
bash "$here/scripts/build-plugin.sh" >&2
args=("--pull=$pull" --network=host --layers --quiet -t "$tag" "${args_base[@]}")
# The runtime stage takes Debian's updates; naming the security archive's state (the Date of its
# InRelease) makes the layer cache rerun that step when a new fix is published, and only then.
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
updates=$(curl -fsS --max-time 20 "$security/dists/$DEBIAN_SUITE-security/InRelease" | sed -n 's/^Date: //p') || updates=""
[ -n "$updates" ] || echo "build-image: could not read $security's date; the cached update layer may be old" >&2
args+=(--build-arg "DEBIAN_UPDATES=$updates")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ca=${NODE_EXTRA_CA_CERTS:-}
if [ -n "$ca" ] && [ -f "$ca" ]; then
  cp "$ca" "$tmp/extra-ca.pem"
  printf 'cafile=/run/build-ca/extra-ca.pem\n' >"$tmp/npmrc"
  args+=(-v "$tmp/extra-ca.pem:/run/build-ca/extra-ca.pem:ro" -v "$tmp/npmrc:/usr/local/etc/npmrc:ro")
fi
buildah build "${args[@]}" --iidfile "$tmp/iid" "$here" >&2
cat "$tmp/iid"
echo
