#!/usr/bin/env bash
# Argo Rollouts contract tests: Argo Rollouts' own Go code (argument resolution, validation, the
# web metric provider, the analysis controller, the notifications engine) against the real judge reading
# a real Prometheus loaded with scenario data, and the contract gate against stand-in catalogo
# servers. Everything listens on 127.0.0.1, on free ports,
# and is stopped on exit, failure included.
#
#   bash test/argo/run.sh [go test flags, e.g. -run TestProvider -v]
#
# The same tests run once per supported Argo Rollouts release (v1.10.2 from go.mod, v1.9.3 from
# argo-v1.9.mod; scripts/lib/argo-version.sh), against the same judge and Prometheus.
#
# Environment:
#   ARGO_VERSIONS="v1.10.2 v1.9.3"     which releases (default: every supported one)
#   CONTRACT_BREAK=lowercase-verdict   deliberate break: Argo reaches the judge through a proxy
#                                      that lower-cases the verdict (the tests must fail)
#   CONTRACT_BREAK=plain-text-verdict  same, the proxy answers the verdict as plain text, not JSON
#   CONTRACT_TEMPLATES_DIR=DIR         test another copy of the templates (default analysis-templates/)
#   CONTRACT_VERBOSE=1                 full `go test -v` output
# Needs: Go, node (npm ci done), prometheus and promtool on PATH.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
say() { printf 'argo-contract: %s\n' "$*"; }

# shellcheck source=../../scripts/lib/processes.sh
source "$repo/scripts/lib/processes.sh" canary-judge-argo

# shellcheck source=../../scripts/lib/argo-version.sh
source "$repo/scripts/lib/argo-version.sh"
versions=${ARGO_VERSIONS:-$ARGO_ROLLOUTS_SUPPORTED}
# The flags of scripts/argo-tools.sh's build of Argo's controller and CLI (and of the plugin's
# tests): Go's build cache keys every compiled package by them, so with the same ones the
# dependencies compiled for one (Argo's packages, client-go, gRPC…) serve the others instead of
# being compiled again, which is most of a cold build here.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath"
t0=$SECONDS
for v in $versions; do
  modfile=$(argo_modfile "$v")
  say "building the Go tests with Argo Rollouts $v (test/argo/$modfile; build cache $(cd test/argo && go env GOCACHE))"
  (cd test/argo && GOTOOLCHAIN=$(argo_toolchain "$v") nice -n 5 go test -modfile="$modfile" -count=1 \
    -run '^$' ./contract/... >/dev/null)
done
say "built in $((SECONDS - t0)) s"

say "generating scenario data (healthy, low-data, error-rate-3x, latency-regression, no-canary; 1 h ending now)"
node_modules/.bin/tsx test/argo/contract/scenarios.ts --out "$tmp"

prom_port=$(free_port)
say "starting Prometheus on 127.0.0.1:$prom_port, backfilled with promtool"
start prometheus node_modules/.bin/tsx test/support/prometheus.ts --port "$prom_port" --backfill "$tmp/backfill.om"
wait_http Prometheus "http://127.0.0.1:$prom_port/-/ready"
for _ in $(seq 100); do
  n=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode 'query=count(istio_requests_total)' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data.result;console.log(r.length?r[0].value[1]:0)})')
  [ "$n" != 0 ] && break
  sleep 0.2
done
say "Prometheus holds $n istio_requests_total series"

say "starting catalogo stand-ins (v1.1, a compatible v1.2, a breaking v1.2) for the contract gate"
standin_ports=()
for variant in v1.1 v1.2-compatible v1.2-breaking; do
  port=$(free_port)
  standin_ports+=("$port")
  start "catalogo-$variant" node_modules/.bin/tsx test/support/catalogo-standins.ts --variant "$variant" --port "$port"
done
catalogo_down_port=$(free_port) # nothing listens there: "the canary is down"
mkdir -p "$tmp/contracts"
cp contracts/catalogo/openapi.yaml "$tmp/contracts/catalogo.yaml"
contract_targets=$(printf '127.0.0.1:%s,' "${standin_ports[@]}" "$catalogo_down_port")

token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
judge_port=$(free_port)
down_judge_port=$(free_port)
dead_prom_port=$(free_port) # nothing listens there: "Prometheus down behind the judge"
judge_env=(CANARY_JUDGE_HOST=127.0.0.1 CANARY_JUDGE_GRPC_PORT=0 CANARY_JUDGE_AUTH_TOKEN="$token" CANARY_JUDGE_LOG_LEVEL=warn)
say "starting the judge (tsx src/main.ts) on 127.0.0.1:$judge_port, reading that Prometheus"
start judge env "${judge_env[@]}" CANARY_JUDGE_PORT="$judge_port" \
  CANARY_JUDGE_CONTRACTS_DIR="$tmp/contracts" CANARY_JUDGE_CONTRACT_TARGETS="${contract_targets%,}" \
  CANARY_JUDGE_PROMETHEUS_URL="http://127.0.0.1:$prom_port" node_modules/.bin/tsx src/main.ts
say "starting a second judge on 127.0.0.1:$down_judge_port whose Prometheus (127.0.0.1:$dead_prom_port) is down"
start judge-prometheus-down env "${judge_env[@]}" CANARY_JUDGE_PORT="$down_judge_port" \
  CANARY_JUDGE_PROMETHEUS_URL="http://127.0.0.1:$dead_prom_port" node_modules/.bin/tsx src/main.ts
hang_prom_port=$(free_port)
hang_judge_port=$(free_port)
say "starting a third judge on 127.0.0.1:$hang_judge_port whose Prometheus (127.0.0.1:$hang_prom_port) accepts connections and never answers"
start hanging-prometheus node -e 'require("net").createServer(() => {}).listen(Number(process.argv[1]), "127.0.0.1")' "$hang_prom_port"
start judge-prometheus-hangs env "${judge_env[@]}" CANARY_JUDGE_PORT="$hang_judge_port" \
  CANARY_JUDGE_PROMETHEUS_URL="http://127.0.0.1:$hang_prom_port" node_modules/.bin/tsx src/main.ts
wait_http judge "http://127.0.0.1:$judge_port/healthz"
wait_http "second judge" "http://127.0.0.1:$down_judge_port/healthz"
wait_http "third judge" "http://127.0.0.1:$hang_judge_port/healthz"
for port in "${standin_ports[@]}"; do wait_http "catalogo stand-in" "http://127.0.0.1:$port/healthz"; done

export CANARY_JUDGE_URL="http://127.0.0.1:$judge_port"
export CANARY_JUDGE_PROM_DOWN_URL="http://127.0.0.1:$down_judge_port"
export CANARY_JUDGE_PROM_HANG_URL="http://127.0.0.1:$hang_judge_port"
export CANARY_JUDGE_TOKEN="$token"
export CATALOGO_V11_URL="http://127.0.0.1:${standin_ports[0]}"
export CATALOGO_V12_COMPATIBLE_URL="http://127.0.0.1:${standin_ports[1]}"
export CATALOGO_V12_BREAKING_URL="http://127.0.0.1:${standin_ports[2]}"
export CATALOGO_DOWN_URL="http://127.0.0.1:$catalogo_down_port"
export CANARY_JUDGE_SCENARIOS="$tmp/scenarios.json"
export CONTRACT_PROMETHEUS_URL="http://127.0.0.1:$prom_port"
[ -n "${CONTRACT_BREAK:-}" ] && say "DELIBERATE BREAK: CONTRACT_BREAK=$CONTRACT_BREAK (the tests are expected to fail)"
[ -n "${CONTRACT_TEMPLATES_DIR:-}" ] && say "templates from $CONTRACT_TEMPLATES_DIR instead of analysis-templates/"

run_tests() {
  local v=$1
  shift
  local go_test=(env GOTOOLCHAIN="$(argo_toolchain "$v")" go test -modfile="$(argo_modfile "$v")" -count=1
    -timeout 20m -parallel 16 -v ./contract/... "$@")
  if [ "${CONTRACT_VERBOSE:-0}" = 1 ]; then
    (cd test/argo && "${go_test[@]}")
  else
    # One line per test and subtest, plus any failure output.
    (cd test/argo && "${go_test[@]}") | grep -Ev '^\s*=== (RUN|PAUSE|CONT|NAME)'
    return "${PIPESTATUS[0]}"
  fi
}
rc=0
failed=()
for v in $versions; do
  say "running the contract tests with Argo Rollouts $v's code against the judge"
  t1=$SECONDS
  export CONTRACT_ARGO_VERSION=$v
  set +e
  run_tests "$v" "$@"
  vrc=$?
  set -e
  say "Argo Rollouts $v: finished in $((SECONDS - t1)) s (rc $vrc)"
  if [ "$vrc" -ne 0 ]; then rc=$vrc; failed+=("$v"); fi
done
say "total $((SECONDS - t0)) s"
[ ${#failed[@]} -eq 0 ] || say "FAILED with Argo Rollouts ${failed[*]}"
exit "$rc"
