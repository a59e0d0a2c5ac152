#!/usr/bin/env bash
# Regenerates the TypeScript of the gRPC contract (src/gen) from proto/, with buf and ts-proto
# from node_modules (no protoc, nothing beyond `npm ci`). Lints the contract first.
#   scripts/gen-proto.sh            regenerate src/gen in place
#   scripts/gen-proto.sh DIR        write DIR/src/gen instead (the drift test compares it)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.}"
buf=node_modules/.bin/buf
[ -x "$buf" ] || { echo "gen-proto: $buf not found; run npm ci" >&2; exit 1; }
"$buf" lint proto
"$buf" generate proto --template proto/buf.gen.yaml --output "$out"
