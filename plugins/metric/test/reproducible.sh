#!/usr/bin/env bash
# The plugin's generated gRPC code is current (scripts/gen-proto-go.sh gives the committed
# files) and does not change when the judge's request model does (a check kind added to
# judge.proto generates the same files), its build is reproducible and depends on nothing outside
# plugins/metric (no src/, no proto/), and its registration is current: builds it with
# scripts/build-plugin.sh --check (which fails when plugins/install or
# charts/canary-judge/argo-rollouts/plugin-values-* do not carry this build's sha256), then builds linux/amd64 again from a copy of the module at another path
# with every package recompiled (-a, no build cache), and compares the two sha256s.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/canary-judge-plugin-repro.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bash "$repo/scripts/gen-proto-go.sh" "$tmp/gen"
if ! diff -r "$repo/plugins/metric/internal/gen" "$tmp/gen" >&2; then
  echo "plugin-repro: plugins/metric/internal/gen is not what proto/ generates; run: bash scripts/gen-proto-go.sh" >&2
  exit 1
fi
# A new check kind in the judge's contract, as a kind added to the request model brings (a
# message and a case of Check's oneof): the plugin's generated code is the same, so its binary
# and sha256 are too; the judge reads the kind from the configuration the plugin forwards.
cp -r "$repo/proto" "$tmp/proto"
awk '{ print } /^    LatencyCheck latency = 11;$/ { print "    AddedLaterCheck added_later = 99;"; n++ }
  END { if (n != 1) exit 1 }' "$repo/proto/canary_judge/v1/judge.proto" >"$tmp/proto/canary_judge/v1/judge.proto"
printf '\nmessage AddedLaterCheck {\n  string bad_query = 1;\n}\n' >>"$tmp/proto/canary_judge/v1/judge.proto"
CANARY_JUDGE_PROTO_DIR="$tmp/proto" bash "$repo/scripts/gen-proto-go.sh" "$tmp/gen-with-kind"
if ! diff -r "$repo/plugins/metric/internal/gen" "$tmp/gen-with-kind" >&2; then
  echo "plugin-repro: a check kind added to judge.proto changes the plugin's generated code" >&2
  exit 1
fi
echo "plugin-repro: a check kind added to judge.proto leaves the plugin's generated code as it is"
bash "$repo/scripts/build-plugin.sh" --check "$tmp/first"
# Only the module: no src/ (the request model) and no proto/ beside it.
mkdir -p "$tmp/elsewhere/src"
cp -r "$repo/plugins/metric" "$tmp/elsewhere/src/"
rm -rf "$tmp/elsewhere/src/metric/dist"
go_version=$(awk '$1 == "go" { print $2; exit }' "$repo/plugins/metric/go.mod")
t0=$SECONDS
(cd "$tmp/elsewhere/src/metric" && GOTOOLCHAIN="go$go_version" CGO_ENABLED=0 GOFLAGS=-mod=readonly \
  GOOS=linux GOARCH=amd64 nice -n 10 go build -a -trimpath -buildvcs=false -ldflags='-buildid= -s -w' \
  -o "$tmp/second" .)
a=$(sha256sum <"$tmp/first/canary-judge-metric-plugin-linux-amd64" | cut -d' ' -f1)
b=$(sha256sum <"$tmp/second" | cut -d' ' -f1)
echo "plugin-repro: rebuilt from another path without cache in $((SECONDS - t0)) s: $b"
if [ "$a" != "$b" ]; then
  echo "plugin-repro: NOT reproducible: first build $a, second $b" >&2
  exit 1
fi
echo "plugin-repro: same sha256 twice; registration current"
