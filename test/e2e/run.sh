#!/usr/bin/env bash
# End-to-end test: catalogo v1.1 → v1.2 through the real Argo Rollouts controller, Istio-shaped
# traffic from a mesh simulator, a real Prometheus and the judge, on a local Kubernetes control
# plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK), all on 127.0.0.1.
#
#   bash test/e2e/run.sh
#
# The tools are built once into ${CANARY_JUDGE_CACHE:-~/.cache/canary-judge} (tens of minutes
# cold on a small machine; nothing is rebuilt afterwards). Needs: go, node, openssl, prometheus
# (Debian package prometheus).
#   E2E_SCENARIOS   comma-separated subset of: wrong-sha,judge-late (both E2E_PROVIDER=plugin only),
#                   quickstart (web only),good,contract-break,clean,bad,bad-5x,bad-searches,
#                   shadow-bad,slow,low-traffic,judge-down
#   E2E_WORK        work folder (default: a new /tmp/canary-judge-e2e.XXXXXX); process logs in logs/
#   E2E_PROVIDER    web (default): the Rollout's analyses use the web templates; plugin: the
#                   controller loads the metric plugin (built by scripts/build-plugin.sh) from
#                   argo-rollouts-config and the Rollout uses the plugin templates
#                   (test/e2e/overlay-plugin)
#   E2E_REPORT_BIN  the installed `canary-judge` the report scenarios run (default: the package
#                   packed and installed into $E2E_WORK/package by test/package/run.sh)
#   ARGO_ROLLOUTS_VERSION   the controller and CRDs: v1.10.2 (default) or v1.9.3
#                   (scripts/lib/argo-version.sh; each is built once into the cache)
#   PROMETHEUS_BIN  the Prometheus to run (default: `prometheus` on PATH, Debian's 2.42);
#                   scripts/test.sh runs the plugin's scenarios on Prometheus 3
#                   (scripts/prometheus3.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
say() { echo "e2e: $*"; }
fail() { echo "e2e: FAILED: $*" >&2; exit 1; }

for tool in go node openssl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required"
done
command -v "${PROMETHEUS_BIN:-prometheus}" >/dev/null 2>&1 ||
  fail "${PROMETHEUS_BIN:-prometheus} is required (Debian package prometheus, or PROMETHEUS_BIN)"

# shellcheck source=../../scripts/lib/argo-version.sh
source "$root/scripts/lib/argo-version.sh"
argo_modfile "$ARGO_ROLLOUTS_VERSION" >/dev/null || fail "ARGO_ROLLOUTS_VERSION: see scripts/lib/argo-version.sh"
export ARGO_ROLLOUTS_VERSION
say "Argo Rollouts $ARGO_ROLLOUTS_VERSION (controller and CRDs)"
say "building or finding the tools (cached by version; a cold build takes tens of minutes)"
t0=$SECONDS
tools_out=$(bash "$here/tools/build.sh") || fail "building the tools failed (see the messages above)"
while IFS='=' read -r key value; do
  case "$key" in
    K8S_BIN) export E2E_K8S_BIN=$value ;;
    KWOK_BIN) export E2E_KWOK_BIN=$value ;;
    KWOK_STAGES) export E2E_KWOK_STAGES=$value ;;
    ARGO_BIN) export E2E_ARGO_BIN=$value ;;
    ETCD_BIN) export E2E_ETCD_BIN=$value ;;
  esac
done <<<"$tools_out"
# helm, for the quickstart scenario (the README's `helm install` of charts/canary-judge).
helm_dir=$(bash "$root/scripts/helm.sh") || fail "building helm failed (scripts/helm.sh)"
export E2E_HELM_BIN=$helm_dir
say "tools ready in $((SECONDS - t0))s"

# CRDs come from the registries through the Go module cache, not from copies in the repository,
# and from the same Argo Rollouts release as the controller.
module_dir() { (cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }
argo_dir=$(GOTOOLCHAIN=$(argo_toolchain "$ARGO_ROLLOUTS_VERSION") module_dir "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION") ||
  fail "cannot download github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION"
istio_dir=$(module_dir istio.io/api@v1.30.8) || fail "cannot download istio.io/api@v1.30.8"
export E2E_ARGO_CRDS="$argo_dir/manifests/crds"
export E2E_ISTIO_CRDS="$istio_dir/kubernetes/customresourcedefinitions.gen.yaml"
[ -f "$E2E_ARGO_CRDS/kustomization.yaml" ] || fail "no Argo Rollouts CRDs at $E2E_ARGO_CRDS"
[ -f "$E2E_ISTIO_CRDS" ] || fail "no Istio CRDs at $E2E_ISTIO_CRDS"

export E2E_WORK=${E2E_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/canary-judge-e2e.XXXXXX")}
mkdir -p "$E2E_WORK"
export E2E_PID_FILE="$E2E_WORK/pids"
: >"$E2E_PID_FILE"

# The harness stops its processes itself; this is the safety net if it dies first: the pids it
# recorded, and only those, are stopped.
cleanup() {
  local pid name
  while read -r pid name; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      say "stopping leftover $name (pid $pid)"
      kill "$pid" 2>/dev/null || true
    fi
  done <"$E2E_PID_FILE"
}
harness=""
on_signal() {
  # Let the harness stop its processes in order, then catch whatever is left.
  if [ -n "$harness" ]; then kill -TERM "$harness" 2>/dev/null || true; wait "$harness" 2>/dev/null || true; fi
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

case "${E2E_PROVIDER:-web}" in
  web) ;;
  plugin)
    say "building the metric plugin (scripts/build-plugin.sh)"
    bash "$root/scripts/build-plugin.sh" "$E2E_WORK/plugin" || fail "building the metric plugin failed"
    export E2E_PLUGIN_BINARY="$E2E_WORK/plugin/canary-judge-metric-plugin-linux-$(go env GOHOSTARCH)"
    export E2E_OVERLAY="${E2E_OVERLAY:-$here/overlay-plugin}"
    ;;
  *) fail "E2E_PROVIDER must be web or plugin, not ${E2E_PROVIDER}" ;;
esac
say "work folder and logs: $E2E_WORK"
# `canary-judge report` runs as a user installs it: the packed package in an empty prefix, on the
# image's Node.js (test/package/run.sh; scripts/test.sh passes the one its package stage made).
if [ -z "${E2E_REPORT_BIN:-}" ]; then
  say "packing and installing the npm package for the report (test/package/run.sh)"
  bash "$root/test/package/run.sh" "$E2E_WORK/package" || fail "the npm package failed"
  export E2E_REPORT_BIN="$E2E_WORK/package/node_modules/.bin/canary-judge"
fi
[ -x "$E2E_REPORT_BIN" ] || fail "E2E_REPORT_BIN=$E2E_REPORT_BIN is not an executable"
node_runtime=$(bash "$root/scripts/node-runtime.sh") || fail "fetching the Node.js runtime failed"
export E2E_REPORT_PATH="$node_runtime/bin:$PATH"
cd "$root"
node --import tsx "$here/run.ts" &
harness=$!
status=0
wait "$harness" || status=$?
harness=""
exit "$status"
