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
# shellcheck source=lib/tool-cache.sh
source "$(dirname "$0")/lib/tool-cache.sh"
tool_cache osv-scanner "$version"
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
