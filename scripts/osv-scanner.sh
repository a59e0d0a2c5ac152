#!/usr/bin/env bash
# Builds osv-scanner (pinned version, from the Go module proxy) into a cache outside the
# repository keyed by version, and prints the directory holding the binary. A second run finds it
# and builds nothing. The scan stage (test/scan) checks the image's npm packages with it against
# the advisory data kept in security/advisories, offline.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v2.6.0
# The module's go.mod asks for Go 1.27; the go command fetches that toolchain from the proxy.
toolchain=go1.27.3
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/osv-scanner-$version/bin"
mkdir -p "$bin"
# One build at a time: a second caller waits for the first and then finds the binary.
exec 9>"$cache/osv-scanner-$version/.lock"
if ! flock -n 9; then
  echo "osv-scanner.sh: waiting for another build of osv-scanner $version..." >&2
  flock 9
fi
if [ ! -x "$bin/osv-scanner" ]; then
  echo "osv-scanner.sh: building osv-scanner $version (about 2 minutes on 2 idle cores)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$bin/.gobin.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOTOOLCHAIN=$toolchain CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false nice -n 10 go install -trimpath \
    "github.com/google/osv-scanner/v2/cmd/osv-scanner@$version"
  mv "$tmp/osv-scanner" "$bin/osv-scanner"
  echo "osv-scanner.sh: built in $((SECONDS - t0))s" >&2
fi
echo "$bin"
