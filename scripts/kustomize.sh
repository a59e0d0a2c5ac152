#!/usr/bin/env bash
# Builds kustomize (pinned version, from the Go module proxy) into a cache outside the
# repository keyed by version, and prints the directory holding the binary. A second run
# finds it and builds nothing. The manifest tests render every kustomization with it, so
# they do not depend on whatever kubectl a machine happens to have.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v5.8.2
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/kustomize-$version/bin"
if [ ! -x "$bin/kustomize" ]; then
  mkdir -p "$bin"
  echo "kustomize.sh: building kustomize $version (about a minute on 2 cores)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$bin/.gobin.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -trimpath "sigs.k8s.io/kustomize/kustomize/v5@$version"
  mv "$tmp/kustomize" "$bin/kustomize"
  echo "kustomize.sh: built in $((SECONDS - t0))s" >&2
fi
echo "$bin"
