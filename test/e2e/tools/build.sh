#!/usr/bin/env bash
# Builds the tools of the end-to-end test into a cache outside the repository, keyed by version,
# and prints `NAME=DIR` lines for the bin directories. Anything already cached is skipped, so a
# second run builds nothing. A cold build takes tens of minutes on a small machine.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
# Tools:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl   k8s.io/kubernetes v1.34.1
#     (from the wrapper module in this directory, with version ldflags so /version is complete)
#   kwok                                                                sigs.k8s.io/kwok v0.8.0
#   kubectl-argo-rollouts, rollouts-controller                         scripts/argo-tools.sh
#     (the release ARGO_ROLLOUTS_VERSION names, scripts/lib/argo-version.sh)
#   etcd                                                                go.etcd.io/etcd/server/v3 v3.5.24
#     (wrapper module in etcd/; the Debian etcd 3.4.23 lacks the watch progress requests that
#     kube-apiserver v1.34 needs for streaming list-watch, see etcd/go.mod)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
k8s_version=v1.34.1
kwok_version=v0.8.0
etcd_version=v3.5.24
k8s_bin="$cache/k8s-$k8s_version/bin"
kwok_bin="$cache/kwok-$kwok_version/bin"
etcd_bin="$cache/etcd-$etcd_version/bin"
mkdir -p "$k8s_bin" "$kwok_bin" "$etcd_bin"
export CGO_ENABLED=0
# One build at a time: .ci/run starts this script in the background early (niced, to use the CPU
# that the test stages leave idle) and the e2e stage calls it again; the second caller waits for
# the first and then finds everything cached.
exec 9>"$cache/.e2e-tools.lock"
if ! flock -n 9; then
  echo "e2e-tools: waiting for another build of the e2e tools..." >&2
  flock 9
fi

say() { echo "e2e-tools: $*" >&2; }

build_kwok() {
  if [ -x "$kwok_bin/kwok" ]; then say "kwok $kwok_version cached"; return 0; fi
  say "building kwok $kwok_version (go install; a few minutes cold)..."
  local t0=$SECONDS
  GOBIN="$kwok_bin" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
  say "built kwok in $((SECONDS - t0))s"
}

build_k8s() {
  local name=$1
  if [ -x "$k8s_bin/$name" ]; then say "$name $k8s_version cached"; return 0; fi
  say "building $name $k8s_version (a few minutes each cold on 2 cores)..."
  local t0=$SECONDS major minor ldflags pkg
  major=${k8s_version#v}; major=${major%%.*}
  minor=${k8s_version#v*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
    ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$k8s_bin/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$k8s_bin/$name.tmp" "$k8s_bin/$name"
  say "built $name in $((SECONDS - t0))s"
}

build_etcd() {
  if [ -x "$etcd_bin/etcd" ]; then say "etcd $etcd_version cached"; return 0; fi
  say "building etcd $etcd_version (a few minutes cold)..."
  local t0=$SECONDS
  (cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$etcd_bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$etcd_bin/etcd.tmp" "$etcd_bin/etcd"
  say "built etcd in $((SECONDS - t0))s"
}

t_all=$SECONDS
build_etcd
build_kwok
for n in kubectl kube-apiserver kube-scheduler kube-controller-manager; do build_k8s "$n"; done
# scripts/argo-tools.sh waits for another build of the same release rather than compiling it twice.
argo_bin=$(bash "$root/scripts/argo-tools.sh")
say "all tools ready in $((SECONDS - t_all))s"
echo "K8S_BIN=$k8s_bin"
echo "KWOK_BIN=$kwok_bin"
# KWOK's own stage definitions (node heartbeat, pods Ready), from its module in the module cache.
kwok_dir=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$kwok_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
echo "KWOK_STAGES=$kwok_dir/kustomize/stage/fast"
echo "ARGO_BIN=$argo_bin"
echo "ETCD_BIN=$etcd_bin"
