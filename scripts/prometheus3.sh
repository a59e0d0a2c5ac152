#!/usr/bin/env bash
# Builds Prometheus 3 (pinned version: `prometheus` and `promtool` of the Go module
# github.com/prometheus/prometheus) into a cache outside the repository keyed by version, and
# prints the directory holding the binaries. A second run finds them and builds nothing. The
# integration stage runs the files that start a real Prometheus a second time on it, and the
# end-to-end run through the metric plugin runs on it, so both majors are proven (every other
# run uses Debian's Prometheus 2.42). Its promtool writes the backfilled blocks of that second
# run: it stores bucket bounds as a Prometheus 3 server stores what it scrapes ("250.0", where
# 2.x kept the exposition's "250"); promtool adds nine packages and a link to the build.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
# Go module v0.316.0 is Prometheus 3.16.0 (the module's VERSION file); the module keeps v0 tags.
version=v0.316.0
release=3.16.0
# The module's go.mod asks for Go 1.26.7; its release build uses Go 1.27 (.promu.yml). Go 1.26.10
# is the toolchain Thanos already builds with (scripts/thanos.sh): no second toolchain to fetch,
# and the dependencies both compile at the same versions come from the same Go build cache.
# The Go release does not change the HTTP API or PromQL, which are what the tests exercise.
toolchain=go1.26.10
# shellcheck source=lib/tool-cache.sh
source "$(dirname "$0")/lib/tool-cache.sh"
tool_cache prometheus "$version"
if [ ! -x "$bin/prometheus" ] || [ ! -x "$bin/promtool" ]; then
  echo "prometheus3.sh: building prometheus $release (minutes on 2 cores)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$bin/.gobuild.XXXXXX")
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  dir=$(cd "$tmp" && GOTOOLCHAIN=$toolchain GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/prometheus@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ]; then
    echo "prometheus3.sh: go mod download did not name the module's directory" >&2
    exit 1
  fi
  # Built inside the module (its go.mod and go.sum pin every dependency), from the read-only
  # module cache: the output goes elsewhere. GOWORK=off: the module ships a go.work naming
  # folders that are not in the module. The tags are those of the release build
  # (.promu.yml) but one: netgo, and the default label layout (no slicelabels/dedupelabels tag),
  # as released. builtinassets is left out because the web UI's compiled assets are generated at
  # release time and not in the module: the UI pages are missing, the HTTP API is all there.
  (cd "$dir" && GOWORK=off GOTOOLCHAIN=$toolchain CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" nice -n 10 go build -trimpath \
    -tags netgo -ldflags "-X github.com/prometheus/common/version.Version=$release" -o "$tmp/" ./cmd/prometheus ./cmd/promtool)
  mv "$tmp/promtool" "$bin/promtool"
  mv "$tmp/prometheus" "$bin/prometheus"
  echo "prometheus3.sh: built in $((SECONDS - t0))s" >&2
fi
echo "$bin"
