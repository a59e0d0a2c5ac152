#!/usr/bin/env bash
# Builds Thanos (pinned version, from the Go module proxy) into a cache outside the repository
# keyed by version, and prints the directory holding the binary. A second run finds it and
# builds nothing. The integration stage runs the judge behind Thanos Query (two Prometheus
# replicas, each with a Thanos sidecar) with it.
# The module's go.mod has replace directives, which `go install module@version` refuses, so
# the module is downloaded, copied to a writable directory and built inside it.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v0.42.5
# The module's go.mod asks for Go 1.26.10; the go command fetches that toolchain from the proxy.
toolchain=go1.26.10
# shellcheck source=lib/tool-cache.sh
source "$(dirname "$0")/lib/tool-cache.sh"
tool_cache thanos "$version"
if [ ! -x "$bin/thanos" ]; then
  echo "thanos.sh: building thanos $version (several minutes on 2 cores)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$bin/.gobuild.XXXXXX")
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  dir=$(cd "$tmp" && GOTOOLCHAIN=$toolchain GOFLAGS=-mod=mod go mod download -json "github.com/thanos-io/thanos@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ]; then
    echo "thanos.sh: go mod download did not name the module's directory" >&2
    exit 1
  fi
  # The module cache is read-only; build in a writable copy. The tags are those of Thanos' own
  # release build (.promu.yml): without slicelabels its gRPC store API marshals Prometheus
  # labels by their slice layout and crashes on the first Info call.
  cp -R "$dir" "$tmp/src"
  chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && GOTOOLCHAIN=$toolchain CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 go build -trimpath \
    -tags netgo,slicelabels -ldflags "-X github.com/prometheus/common/version.Version=${version#v}" -o "$tmp/thanos" ./cmd/thanos)
  mv "$tmp/thanos" "$bin/thanos"
  echo "thanos.sh: built in $((SECONDS - t0))s" >&2
fi
echo "$bin"
