#!/usr/bin/env bash
# Renders the kustomize trees from the Helm chart, so that nothing is maintained twice by hand:
# charts/canary-judge is the source; deploy/canary-judge/{base,with-servicemonitor,monitoring}
# and analysis-templates/ hold its output (committed, for `kubectl apply -k` and Argo CD), with
# the hand-written kustomization.yaml files and namespace.yaml beside it.
#   scripts/render-manifests.sh [OUT]   (default: the repository; OUT gets the same layout)
# test/manifests/chart.test.ts renders into a temporary OUT and fails on any difference.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here}
helm="$(bash "$here/scripts/helm.sh")/helm"
chart="$here/charts/canary-judge"
rendered=$("$helm" template canary-judge "$chart" --namespace canary-judge \
  -f "$chart/examples/catalogo.yaml" -f "$chart/examples/kustomize.yaml" \
  --set-file contracts.catalogo="$here/contracts/catalogo/openapi.yaml")
banner="# Rendered from charts/canary-judge by scripts/render-manifests.sh: change the chart, not this file."
mkdir -p "$out/deploy/canary-judge/base" "$out/deploy/canary-judge/with-servicemonitor" \
  "$out/deploy/canary-judge/monitoring" "$out/analysis-templates"
# One document per template file, except analysis-templates.yaml: one file per
# ClusterAnalysisTemplate, named after it (analysis-templates/<name>.yaml).
awk -v out="$out" -v banner="$banner" '
  function flush() {
    if (src == "") return
    if (src == "analysis-templates.yaml") {
      if (!match(body, /\n  name: [^\n]+/)) { print "render-manifests: a template without a name" > "/dev/stderr"; exit 1 }
      name = substr(body, RSTART + 9, RLENGTH - 9)
      file = out "/analysis-templates/" name ".yaml"
    } else if (src == "servicemonitor.yaml") file = out "/deploy/canary-judge/with-servicemonitor/" src
    else if (src == "prometheusrule.yaml") file = out "/deploy/canary-judge/monitoring/" src
    else file = out "/deploy/canary-judge/base/" src
    if (file in seen) { print "render-manifests: two documents for " file > "/dev/stderr"; exit 1 }
    seen[file] = 1
    printf "%s\n%s", banner, body > file
    close(file)
    src = ""; body = ""
  }
  /^---$/ { flush(); next }
  /^# Source: canary-judge\/templates\// { src = substr($0, 34); next }
  { body = body $0 "\n" }
  END { flush() }
' <<<"$rendered"
cp "$chart/files/canary-judge-dashboard.json" "$out/deploy/canary-judge/monitoring/canary-judge-dashboard.json"
