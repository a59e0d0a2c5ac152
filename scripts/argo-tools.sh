#!/usr/bin/env bash
# Builds Argo Rollouts' `kubectl-argo-rollouts` and `rollouts-controller` from the project's Go
# module test/argo, into a cache outside the repository keyed by version, and prints the
# directory holding them. A second run finds them and builds nothing.
#   bash scripts/argo-tools.sh [NAME...]   (default: both)
#   ARGO_ROLLOUTS_VERSION   which release (scripts/lib/argo-version.sh; default the newest supported)
#   CANARY_JUDGE_CACHE      cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/argo-version.sh
source "$here/scripts/lib/argo-version.sh"
version=$ARGO_ROLLOUTS_VERSION
modfile=$(argo_modfile "$version")
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/argo-rollouts-$version/bin"
mkdir -p "$bin"
# One build per release at a time: a second caller (another test stage, a second checkout) waits
# for the first and then finds the binaries; builds of other releases go on.
exec 9>"$cache/argo-rollouts-$version/.lock"
if ! flock -n 9; then
  echo "argo-tools: waiting for another build of Argo Rollouts $version..." >&2
  flock 9
fi
build() {
  local name=$1
  if [ -x "$bin/$name" ]; then return 0; fi
  echo "argo-tools: building $name $version (cold build takes several minutes on 2 cores)..." >&2
  local t0=$SECONDS
  (cd "$here/test/argo" && GOTOOLCHAIN=$(argo_toolchain "$version") CGO_ENABLED=0 \
    go build -modfile="$modfile" -trimpath -o "$bin/$name.tmp" \
    -ldflags "-X github.com/argoproj/argo-rollouts/utils/version.version=${version#v}" \
    "github.com/argoproj/argo-rollouts/cmd/$name")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "argo-tools: built $name in $((SECONDS - t0))s" >&2
}
for name in "${@:-kubectl-argo-rollouts rollouts-controller}"; do
  for n in $name; do build "$n"; done
done
echo "$bin"
