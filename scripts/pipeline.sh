#!/usr/bin/env bash
# Runs the pipelines of .github/workflows on this machine, stage by stage in the same order, and
# says plainly which stages cannot run here and why (no registry, no vulnerability database, no
# OIDC identity for keyless signing, no catalogo source). Ends with a summary table.
#
#   bash scripts/pipeline.sh [judge|catalogo] [STAGE...]     default: judge, every stage
#
# judge:    typecheck unit manifests integration argo-contract image scan push sign deploy release
# catalogo: unit contract image scan push rollout
#   CATALOGO_OPENAPI=FILE   the new catalogo version's OpenAPI document (contract stage)
#   CATALOGO_DIGEST=sha256:…  the digest to pin rollouts/catalogo to (rollout stage, on a copy)
#   RELEASE=1               also build the metric plugin's release binaries (judge release stage)
# Needs what `bash .ci/run` installs.
set -euo pipefail
cd "$(dirname "$0")/.."
pipeline=${1:-judge}
shift || true
case "$pipeline" in
  judge) all=(typecheck unit manifests integration argo-contract image scan push sign deploy release) ;;
  catalogo) all=(unit contract image scan push rollout) ;;
  *) echo "usage: scripts/pipeline.sh [judge|catalogo] [STAGE...]" >&2; exit 2 ;;
esac
wanted=("${@:-${all[@]}}")
for w in "${wanted[@]}"; do
  [[ " ${all[*]} " == *" $w "* ]] || { echo "pipeline: $pipeline has no stage $w (${all[*]})" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary=()
failed=0
record() { summary+=("$(printf '%-14s %-8s %s' "$1" "$2" "$3")"); }
# run NAME DESCRIPTION COMMAND...: runs a stage that can run here; a failure stops the pipeline.
run() {
  local name=$1 what=$2 t0=$SECONDS
  shift 2
  printf '\n=== %s: %s ===\n' "$name" "$what"
  if "$@"; then
    record "$name" passed "$what ($((SECONDS - t0)) s)"
  else
    record "$name" FAILED "$what"
    failed=1
    finish
  fi
}
# cannot NAME WHY: a stage that only the real pipeline can run.
cannot() {
  printf '\n=== %s: cannot run here ===\n%s\n' "$1" "$2"
  record "$1" "CANNOT" "$2"
}
skip() {
  printf '\n=== %s: skipped ===\n%s\n' "$1" "$2"
  record "$1" skipped "$2"
}
finish() {
  printf '\n=== %s pipeline, locally ===\n' "$pipeline"
  printf '%s\n' "${summary[@]}"
  exit "$failed"
}
want() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

judge_image_id=""
judge_digest=""
image_stage() {
  bash test/image/run.sh
  judge_image_id=$(podman image inspect --format '{{.Id}}' localhost/canary-judge:ci)
}
# What a push computes: the image written to an OCI layout, its manifest digest recorded.
push_stage() {
  [ -n "$judge_image_id" ] || judge_image_id=$(podman image inspect --format '{{.Id}}' localhost/canary-judge:ci)
  podman push --quiet --digestfile "$work/digest" "$judge_image_id" "oci:$work/oci-layout:canary-judge"
  judge_digest=$(cat "$work/digest")
  echo "pipeline: image $judge_image_id written to an OCI layout as $judge_digest"
}
deploy_stage() {
  cp -r deploy "$work/deploy"
  bash scripts/set-image-digest.sh "$work/deploy/canary-judge/base" ghcr.io/canary-judge/canary-judge \
    "$judge_digest"
  diff -u deploy/canary-judge/base/kustomization.yaml "$work/deploy/canary-judge/base/kustomization.yaml" || true
}
rollout_stage() {
  cp -r rollouts "$work/rollouts"
  bash scripts/set-image-digest.sh "$work/rollouts/catalogo" registry.example.com/streaming/catalogo "$CATALOGO_DIGEST"
  diff -u rollouts/catalogo/kustomization.yaml "$work/rollouts/catalogo/kustomization.yaml" || true
}
static_stage() {
  npx tsc -p tsconfig.json --noEmit
  npx eslint --max-warnings 0 .
  npx prettier --check . --log-level warn
}
unit_stage() {
  local node_runtime
  node_runtime=$(bash scripts/node-runtime.sh)
  PATH="$node_runtime/bin:$PATH" node node_modules/vitest/vitest.mjs run --dir test/unit
}
manifests_stage() {
  npx vitest run --dir test/manifests
  "$(bash scripts/actionlint.sh)/actionlint"
}

no_db="catalogo's image is built in its own repository; its workflow runs Trivy with security/allow-list.yaml and fails on any fixable vulnerability"
no_registry="no container registry is reachable from here"
if [ "$pipeline" = judge ]; then
  want typecheck && run typecheck "type check, lint and format" static_stage
  want unit && run unit "unit tests on the image's Node.js" unit_stage
  want manifests && run manifests "manifests and workflow lint" manifests_stage
  want integration && run integration "integration against a real Prometheus" npx vitest run --dir test/integration
  want argo-contract && run argo-contract "Argo Rollouts contract tests" bash test/argo/run.sh
  want image && run image "image: build, run as deployed, SBOM checks" image_stage
  # Trivy's database cannot be downloaded here: the offline scan stage (osv-scanner and the
  # advisories in security/advisories, bookworm-security through apt) stands in for it.
  want scan && run scan "scan: npm packages (osv-scanner, offline), Node.js, Debian packages (bookworm-security)" \
    bash test/scan/run.sh
  if want push; then
    run push "push by digest: $no_registry, so to a local OCI layout whose manifest digest stands in for the registry's" push_stage
  fi
  want sign && cannot sign "keyless cosign needs the workflow's OIDC identity and Sigstore's Fulcio and Rekor; the workflow signs and attests the SBOM"
  if want deploy; then
    if [ -n "$judge_digest" ]; then
      run deploy "pin deploy/canary-judge to the digest (on a copy; the workflow commits it)" deploy_stage
    else
      skip deploy "needs the push stage's digest"
    fi
  fi
  if want release; then
    if [ "${RELEASE:-0}" != 1 ]; then
      skip release "release tags only; RELEASE=1 builds the plugin binaries and checksums here too"
    elif [ -f scripts/build-plugin.sh ]; then
      run release "metric plugin binaries and SHA256SUMS (publishing to a GitHub release: CI only)" \
        bash scripts/build-plugin.sh "$work/plugin"
    else
      cannot release "scripts/build-plugin.sh (the metric plugin's build) is not in this checkout"
    fi
  fi
else
  want unit && cannot unit "catalogo's source (and its \`make test\`) lives in its own repository, not here"
  if want contract; then
    if [ ! -f scripts/contract-diff.sh ]; then
      cannot contract "scripts/contract-diff.sh (the contract check) is not in this checkout"
    elif [ -z "${CATALOGO_OPENAPI:-}" ]; then
      skip contract "set CATALOGO_OPENAPI to the new version's OpenAPI document to compare it with contracts/catalogo"
    else
      run contract "API contract vs contracts/catalogo/openapi.yaml" \
        bash scripts/contract-diff.sh contracts/catalogo/openapi.yaml "$CATALOGO_OPENAPI"
    fi
  fi
  want image && cannot image "catalogo's source and Dockerfile live in its own repository"
  want scan && cannot scan "$no_db"
  want push && cannot push "$no_registry"
  if want rollout; then
    if [ -n "${CATALOGO_DIGEST:-}" ]; then
      run rollout "pin rollouts/catalogo to CATALOGO_DIGEST (on a copy; the workflow commits it)" rollout_stage
    else
      skip rollout "set CATALOGO_DIGEST=sha256:… to pin rollouts/catalogo on a copy"
    fi
  fi
fi
finish
