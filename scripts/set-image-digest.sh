#!/usr/bin/env bash
# Pins an image of a kustomization to a digest, the way the pipelines deploy what they built and
# scanned: `kustomize edit set image NAME@DIGEST` in DIR, then renders DIR and fails unless every
# container of that image now runs NAME@DIGEST.
#   scripts/set-image-digest.sh DIR NAME sha256:<64 hex>
# e.g. deploy/canary-judge/base ghcr.io/canary-judge/canary-judge sha256:…          (the judge)
#      rollouts/catalogo registry.example.com/streaming/catalogo sha256:…           (catalogo)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: scripts/set-image-digest.sh DIR NAME sha256:<64 hex>"
dir=${1:?$usage} name=${2:?$usage} digest=${3:?$usage}
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "set-image-digest: not a digest: $digest" >&2; exit 2; }
[ -f "$dir/kustomization.yaml" ] || { echo "set-image-digest: no kustomization.yaml in $dir" >&2; exit 2; }
kustomize="$(bash "$here/scripts/kustomize.sh")/kustomize"
(cd "$dir" && "$kustomize" edit set image "$name@$digest")
rendered=$("$kustomize" build "$dir" | grep -E "^\s*(- )?image: $name[:@]" || true)
if [ -z "$rendered" ] || grep -qv "image: $name@$digest\$" <<<"$rendered"; then
  echo "set-image-digest: $dir does not render $name@$digest:" >&2
  echo "${rendered:-  (no container uses $name)}" >&2
  exit 1
fi
echo "set-image-digest: $dir runs $name@$digest"
