#!/usr/bin/env bash
# Builds oasdiff (the OpenAPI diff and breaking-change checker, Go module
# github.com/oasdiff/oasdiff) once into a cache outside the repository keyed by version, and
# prints the path of the binary. A second run finds it and builds nothing.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v1.38.0
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/oasdiff-$version/bin"
if [ ! -x "$bin/oasdiff" ]; then
  echo "oasdiff: building $version (about a minute or two cold on 2 cores)..." >&2
  t0=$SECONDS
  mkdir -p "$bin"
  # GOTOOLCHAIN=local: the module needs Go 1.26; its toolchain line only suggests a newer one.
  GOTOOLCHAIN=local GOBIN="$bin.tmp" CGO_ENABLED=0 go install -trimpath "github.com/oasdiff/oasdiff@$version"
  mv "$bin.tmp/oasdiff" "$bin/oasdiff"
  rmdir "$bin.tmp"
  echo "oasdiff: built in $((SECONDS - t0))s" >&2
fi
echo "$bin/oasdiff"
