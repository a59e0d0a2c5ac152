#!/usr/bin/env bash
# Builds actionlint (pinned version, from the Go module proxy) into a cache outside the
# repository keyed by version, and prints the directory holding the binary. A second run finds it
# and builds nothing. The workflow stage lints .github/workflows with it.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v1.7.12
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/actionlint-$version/bin"
if [ ! -x "$bin/actionlint" ]; then
  mkdir -p "$bin"
  echo "actionlint.sh: building actionlint $version (under a minute on 2 cores)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$bin/.gobin.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false nice -n 10 go install -trimpath \
    "github.com/rhysd/actionlint/cmd/actionlint@$version"
  mv "$tmp/actionlint" "$bin/actionlint"
  echo "actionlint.sh: built in $((SECONDS - t0))s" >&2
fi
echo "$bin"
