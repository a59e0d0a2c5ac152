#!/usr/bin/env bash
# Regenerates the Go of the gRPC contract used by the metric plugin (plugins/metric/internal/gen)
# from proto/, with buf from node_modules and protoc-gen-go / protoc-gen-go-grpc built at the
# versions plugins/metric/go.mod pins. Only the plugin's contract (proto/canary_judge/v1/plugin.proto),
# which imports nothing: a change to the judge's request or answer (judge.proto) changes neither
# this code nor the plugin's binary. The plugin takes the health protocol from grpc-go.
#   scripts/gen-proto-go.sh         regenerate in place
#   scripts/gen-proto-go.sh DIR     write DIR/canary_judge/... instead (the drift check compares it)
#   CANARY_JUDGE_PROTO_DIR=DIR      read the .proto files from DIR instead of proto/ (the
#                                   reproducibility test generates from a changed judge.proto)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out="${1:-$repo/plugins/metric/internal/gen}"
buf=node_modules/.bin/buf
[ -x "$buf" ] || { echo "gen-proto-go: $buf not found; run npm ci" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/canary-judge-gen-go.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}
(cd plugins/metric && GOFLAGS=-mod=readonly go build -o "$tmp/bin/" \
  google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc)
cat >"$tmp/buf.gen.yaml" <<YAML
version: v2
managed:
  enabled: true
  override:
    - file_option: go_package_prefix
      value: canary-judge/plugins/metric/internal/gen
plugins:
  - local: $tmp/bin/protoc-gen-go
    out: $tmp/out
    opt: paths=source_relative
  - local: $tmp/bin/protoc-gen-go-grpc
    out: $tmp/out
    opt: paths=source_relative
YAML
proto=${CANARY_JUDGE_PROTO_DIR:-proto}
"$buf" generate "$proto" --template "$tmp/buf.gen.yaml" --path "$proto/canary_judge/v1/plugin.proto"
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp/out/." "$out/"
