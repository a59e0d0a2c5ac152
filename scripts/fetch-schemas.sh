#!/usr/bin/env bash
# Fetches, through the Go module proxy, the schemas the manifest tests validate against, and
# prints a JSON object naming the files (progress goes to stderr). Nothing is committed to
# the repository: the modules land in the Go module cache, so a second run downloads nothing.
#   - Argo Rollouts CRDs          github.com/argoproj/argo-rollouts   manifests/crds/
#   - Istio CRDs (networking/v1)  istio.io/api                        kubernetes/customresourcedefinitions.gen.yaml
#   - ServiceMonitor and PrometheusRule CRDs
#                                 github.com/prometheus-operator/prometheus-operator
#   - Argo CD Application CRD     github.com/argoproj/argo-cd/v3      manifests/crds/
#   - Kubernetes OpenAPI v3       k8s.io/kubernetes                   api/openapi-spec/v3/
#     (what the API server serves; the tests use it to find fields it would drop or refuse)
# Needs only `go` and access to the module proxy (GOPROXY as configured).
set -euo pipefail

# shellcheck source=lib/argo-version.sh
source "$(cd "$(dirname "$0")" && pwd)/lib/argo-version.sh"
ARGO_ROLLOUTS=$ARGO_ROLLOUTS_VERSION   # the release the Argo tools are built from (default the newest)
# Argo Rollouts' module declares the Go release it needs; `go mod download` refuses to unpack it
# with an older local toolchain, so use the one the project's module file names.
export GOTOOLCHAIN
GOTOOLCHAIN=$(argo_toolchain "$ARGO_ROLLOUTS")
ISTIO_API=v1.30.8             # serves networking.istio.io/v1 VirtualService/DestinationRule
PROMETHEUS_OPERATOR=v0.85.0
ARGO_CD=v3.5.7                # v3.6 needs Go >= 1.27
KUBERNETES=v1.34.1            # the control plane version of the end-to-end tests

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"   # outside any module: `go mod download` then fetches exactly what it is told

dir_of() {
  local json
  json=$(GOFLAGS= go mod download -json "$1" 2>/dev/null) || {
    echo "fetch-schemas: go mod download $1 failed:" >&2
    GOFLAGS= go mod download -json "$1" >&2 || true
    exit 1
  }
  local dir
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "fetch-schemas: no module directory for $1" >&2
    exit 1
  fi
  printf '%s' "$dir"
}

echo "fetch-schemas: resolving schema modules through the Go module proxy..." >&2
argo=$(dir_of "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS")
istio=$(dir_of "istio.io/api@$ISTIO_API")
promop=$(dir_of "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR")
argocd=$(dir_of "github.com/argoproj/argo-cd/v3@$ARGO_CD")
kube=$(dir_of "k8s.io/kubernetes@$KUBERNETES")

files=(
  "$argo/manifests/crds/rollout-crd.yaml"
  "$argo/manifests/crds/analysis-template-crd.yaml"
  "$argo/manifests/crds/cluster-analysis-template-crd.yaml"
  "$argo/manifests/crds/analysis-run-crd.yaml"
  "$argo/manifests/crds/experiment-crd.yaml"
  "$istio/kubernetes/customresourcedefinitions.gen.yaml"
  "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
  "$promop/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  "$argocd/manifests/crds/application-crd.yaml"
)
for f in "${files[@]}" "$kube/api/openapi-spec/v3/api__v1_openapi.json"; do
  [ -f "$f" ] || { echo "fetch-schemas: missing $f" >&2; exit 1; }
done

json_list() { local first=1; printf '['; for f in "$@"; do
  [ $first = 1 ] || printf ','; first=0; printf '"%s"' "$f"; done; printf ']'; }
printf '{"versions":{"argoRollouts":"%s","istioApi":"%s","prometheusOperator":"%s","argoCd":"%s","kubernetes":"%s"},' \
  "$ARGO_ROLLOUTS" "$ISTIO_API" "$PROMETHEUS_OPERATOR" "$ARGO_CD" "$KUBERNETES"
printf '"crdFiles":%s,"kubernetesOpenAPIDir":"%s"}\n' "$(json_list "${files[@]}")" "$kube/api/openapi-spec/v3"
