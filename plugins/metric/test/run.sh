#!/usr/bin/env bash
# The metric plugin as Argo runs it: builds the plugin (scripts/build-plugin.sh, linux/amd64 or
# the host's architecture), loads a real Prometheus with the contract scenarios
# (test/argo/contract/scenarios.ts), starts the judge from source with gRPC and a token, and runs
# the Go tests of plugins/metric/test, which start the binary through Argo Rollouts' own plugin
# code — once with v1.10.2's (go.mod) and once with v1.9.3's (test/argo-v1.9.mod; the binary is
# the same). Everything listens on 127.0.0.1, on free ports, and is stopped on exit.
#
#   bash plugins/metric/test/run.sh [go test flags, e.g. -run TestWhenTheJudgeIsDown -v]
#
#   PLUGIN_BINARY=FILE   test this binary instead of building one
#   ARGO_VERSIONS="1.10 1.9"   which Argo Rollouts clients to test with (default both)
# Needs: Go (the toolchain of plugins/metric/go.mod is fetched if missing), node (npm ci done),
# prometheus and promtool on PATH.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$repo"
say() { printf 'plugin-test: %s\n' "$*"; }

# shellcheck source=../../../scripts/lib/processes.sh
source "$repo/scripts/lib/processes.sh" canary-judge-plugin-test

t0=$SECONDS
if [ -z "${PLUGIN_BINARY:-}" ]; then
  arch=$(go env GOHOSTARCH)
  say "building the plugin"
  bash scripts/build-plugin.sh "$tmp/dist"
  export PLUGIN_BINARY="$tmp/dist/canary-judge-metric-plugin-linux-$arch"
fi
go_version=$(awk '$1 == "go" { print $2; exit }' plugins/metric/go.mod)
export GOTOOLCHAIN="go$go_version"
# The flags of Argo's contract tests and tools builds (test/argo/run.sh), so that the packages
# compiled for them (Argo's plugin client, client-go, gRPC…) come from Go's build cache here.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath"
say "unit tests of the plugin (forwarding, its own keys, phases, flags, usage)"
(cd plugins/metric && nice -n 10 go test -count=1 ./internal/...)
versions=${ARGO_VERSIONS:-1.10 1.9}
modfile() { case $1 in 1.10) echo go.mod ;; 1.9) echo test/argo-v1.9.mod ;; *) say "unknown Argo version $1"; exit 2 ;; esac; }
for v in $versions; do
  say "building the Go tests with Argo Rollouts $v's plugin client ($(modfile "$v"))"
  (cd plugins/metric && nice -n 10 go test -modfile="$(modfile "$v")" -c -o "$tmp/plugintest-$v.test" ./test/)
done

node_modules/.bin/tsx test/argo/contract/scenarios.ts --out "$tmp"
prom_port=$(free_port)
start prometheus node_modules/.bin/tsx test/support/prometheus.ts --port "$prom_port" --backfill "$tmp/backfill.om"
wait_http Prometheus "http://127.0.0.1:$prom_port/-/ready"
for _ in $(seq 100); do
  n=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode 'query=count(istio_requests_total)' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data.result;console.log(r.length?r[0].value[1]:0)})')
  [ "$n" != 0 ] && break
  sleep 0.2
done
say "Prometheus on 127.0.0.1:$prom_port holds $n istio_requests_total series"

token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
http_port=$(free_port)
grpc_port=$(free_port)
start judge env CANARY_JUDGE_HOST=127.0.0.1 CANARY_JUDGE_PORT="$http_port" CANARY_JUDGE_GRPC_PORT="$grpc_port" \
  CANARY_JUDGE_AUTH_TOKEN="$token" CANARY_JUDGE_LOG_LEVEL=warn \
  CANARY_JUDGE_PROMETHEUS_URL="http://127.0.0.1:$prom_port" node_modules/.bin/tsx src/main.ts
wait_http judge "http://127.0.0.1:$http_port/healthz"
say "judge gRPC on 127.0.0.1:$grpc_port"

export JUDGE_GRPC_ADDR="127.0.0.1:$grpc_port"
export JUDGE_DOWN_ADDR="127.0.0.1:$(free_port)" # nothing listens there
export PLUGINTEST_TOKEN="$token"
export PLUGINTEST_WRONG_TOKEN="not-the-token"
export CANARY_JUDGE_SCENARIOS="$tmp/scenarios.json"
export POD_NAMESPACE=argo-rollouts
rc=0
for v in $versions; do
  t1=$SECONDS
  say "Argo Rollouts $v: go test ./test/"
  set +e
  (cd plugins/metric && go test -modfile="$(modfile "$v")" -count=1 -timeout 5m -v ./test/ "$@") |
    grep -Ev '^\s*=== (RUN|PAUSE|CONT|NAME)| \[DEBUG\] plugin'
  r=${PIPESTATUS[0]}
  set -e
  say "Argo Rollouts $v: go test finished in $((SECONDS - t1)) s (rc $r)"
  [ "$r" -ne 0 ] && rc=$r
done
say "total $((SECONDS - t0)) s"
exit "$rc"
