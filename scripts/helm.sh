#!/usr/bin/env bash
# Builds helm (pinned version, from the Go module proxy) into a cache outside the repository
# keyed by version, and prints the directory holding the binary. A second run finds it and
# builds nothing. The manifest tests lint and render charts/canary-judge with it, the e2e
# installs the chart with it, and scripts/render-manifests.sh renders the kustomize trees from it.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
version=v3.21.4
k8s_major=1 k8s_minor=36
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
bin="$cache/helm-$version/bin"
if [ ! -x "$bin/helm" ]; then
  mkdir -p "$bin"
  exec 9>"$bin/.lock"
  flock 9
  if [ ! -x "$bin/helm" ]; then
    echo "helm.sh: building helm $version (a few minutes on 2 cores)..." >&2
    t0=$SECONDS
    tmp=$(mktemp -d "$bin/.gobin.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # The -X flags helm's release build sets: its version (else `helm version` prints the
    # source's placeholder) and the Kubernetes version that `helm template` and `helm lint`
    # assume without a cluster (Capabilities.KubeVersion; helm's release build takes it from
    # its client-go, v0.36 in v3.21.4's go.mod, so 1.36; the source's default is 1.20).
    ld="-X helm.sh/helm/v3/internal/version.version=$version"
    for pkg in pkg/lint/rules pkg/chartutil; do
      ld="$ld -X helm.sh/helm/v3/$pkg.k8sVersionMajor=$k8s_major -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
    done
    CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false nice -n 10 go install -trimpath -ldflags "$ld" \
      "helm.sh/helm/v3/cmd/helm@$version"
    mv "$tmp/helm" "$bin/helm"
    echo "helm.sh: built in $((SECONDS - t0))s" >&2
  fi
fi
echo "$bin"
