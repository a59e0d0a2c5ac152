#!/usr/bin/env bash
# Runs every test of the project, in order from the fastest to the slowest stage:
#   1. type check, lint (typescript-eslint, type-aware) and format (Prettier); the GitHub Actions
#      workflows linted (actionlint, with shellcheck)
#   2. unit tests (statistics, queries, validation, HTTP layer), on the  test/unit
#      Node.js LTS the image runs (scripts/node-runtime.sh)
#      the npm package: packed, installed into an empty prefix, its command run  test/package
#   3. manifest validation (schemas, kustomize, the Helm chart, Argo's linter) test/manifests
#   4. integration tests: a real Prometheus; the contract gate and check; test/integration
#      the judge behind Thanos (scripts/thanos.sh)
#   5. Argo Rollouts contract tests (Argo's own Go code vs the judge,    test/argo
#      v1.10.2 and v1.9.3)
#   6. the container image: built, run as deployed, inventoried           test/image
#   7. the metric plugin: reproducible build, Argo's plugin client       plugins/metric/test
#   8. end to end on a local Kubernetes control plane; then the           test/e2e
#      integration files that start a real Prometheus again, on
#      Prometheus 3 (scripts/prometheus3.sh), and the e2e run through the
#      metric plugin, on Prometheus 3 too
#   9. the image of stage 6 scanned: npm packages, Node.js, Debian        test/scan
#      packages (fails on findings), and a seeded vulnerable image shown to fail
# Set CANARY_JUDGE_SKIP_IMAGE=1 to leave out stages 6 and 9 (they need buildah, podman and
# debootstrap, which .ci/run installs, and osv-scanner, scripts/osv-scanner.sh) and
# CANARY_JUDGE_SKIP_E2E=1 to leave out stage 8 (it needs the cached control-plane build).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's header says when it started (UTC) and how far into the run: the per-stage times
# of a CI run, cold or warm, read straight from its log.
stage() { printf '\n=== %s (%s, %d s in) ===\n' "$*" "$(date -u +%H:%M:%S)" "$SECONDS"; }

stage "type check"
npx tsc -p tsconfig.json --noEmit

stage "lint and format"
npx eslint --max-warnings 0 .
npx prettier --check . --log-level warn

stage "workflow lint (actionlint)"
"$(bash scripts/actionlint.sh)/actionlint"

# Under the image's Node.js (fetched once into the cache), whatever node the machine has: the
# judge ships on that runtime, so that is the one its tests must pass on (once: a second run on
# the machine's node took 1-2 minutes of CI and tested a runtime the judge does not support).
source scripts/lib/runtime-versions.sh
stage "unit tests on Node.js $NODE_VERSION (the image's runtime)"
node_runtime=$(bash scripts/node-runtime.sh)
PATH="$node_runtime/bin:$PATH" node node_modules/vitest/vitest.mjs run --dir test/unit

# The package a user installs without a clone; the e2e stages run their reports with it.
stage "npm package (npm pack, installed with --omit=dev into an empty prefix, run on Node.js $NODE_VERSION)"
package_prefix=$(mktemp -d "${TMPDIR:-/tmp}/canary-judge-package-prefix.XXXXXX")
trap 'rm -rf "$package_prefix"' EXIT
bash test/package/run.sh "$package_prefix"
export E2E_REPORT_BIN="$package_prefix/node_modules/.bin/canary-judge"

if [ -d test/manifests ] && ls test/manifests/*.test.ts >/dev/null 2>&1; then
  stage "manifest validation"
  npx vitest run --dir test/manifests
fi

if [ -d test/integration ] && ls test/integration/*.test.ts >/dev/null 2>&1; then
  stage "integration tests (real Prometheus)"
  # Thanos for test/integration/thanos.test.ts (cached by version; .ci/run starts building it
  # in the background, and this waits for that build or builds it).
  THANOS_BIN="$(bash scripts/thanos.sh)/thanos"
  export THANOS_BIN
  npx vitest run --dir test/integration
fi

if [ -f test/argo/run.sh ]; then
  stage "Argo Rollouts contract tests"
  bash test/argo/run.sh
fi

if [ -f test/image/run.sh ] && [ "${CANARY_JUDGE_SKIP_IMAGE:-0}" != 1 ]; then
  stage "container image (buildah build, podman run, SBOM)"
  bash test/image/run.sh
fi

if [ -f plugins/metric/test/run.sh ]; then
  stage "metric plugin (reproducible build; Argo's plugin client against the judge)"
  bash plugins/metric/test/reproducible.sh
  bash plugins/metric/test/run.sh
fi

if [ -f test/e2e/run.sh ] && [ "${CANARY_JUDGE_SKIP_E2E:-0}" != 1 ]; then
  stage "end to end (local control plane: the README's Quickstart through the Helm chart, then catalogo)"
  bash test/e2e/run.sh
fi

# The integration files that start a real Prometheus again, on Prometheus 3 (built from its Go
# module, cached), its promtool writing the backfilled blocks; the others talk to stand-ins and
# would only repeat themselves. This stage comes after the web end-to-end run: on a cold machine
# .ci/run builds Prometheus 3 last in its background chain, on the CPU that the stages before
# leave idle, so that its build never delays the tools they wait for. The header comes first, so
# that a wait for the build counts in this stage's time.
if [ -d test/integration ] && ls test/integration/*.test.ts >/dev/null 2>&1; then
  stage "integration tests on Prometheus 3 (scripts/prometheus3.sh)"
  prometheus3=$(bash scripts/prometheus3.sh)
  "$prometheus3/prometheus" --version 2>&1 | head -n 1 || true
  PROMETHEUS_BIN=$prometheus3/prometheus PROMTOOL_BIN=$prometheus3/promtool npx vitest run --dir test/integration \
    --exclude '**/contract-diff.test.ts' --exclude '**/contract-gate.test.ts' \
    --exclude '**/faults.test.ts' --exclude '**/properties.test.ts' --exclude '**/shutdown.test.ts'
fi

if [ -f test/e2e/run.sh ] && [ "${CANARY_JUDGE_SKIP_E2E:-0}" != 1 ]; then
  # The plugin's run is on Prometheus 3: the judge reads Prometheus the same way whichever way
  # Argo asks it, so its good and bad releases prove the judge's verdicts on the newer major
  # without another run (the web run above covers every scenario on Debian's 2.42).
  stage "end to end through the metric plugin (the controller loads it from argo-rollouts-config), on Prometheus 3"
  PROMETHEUS_BIN="$(bash scripts/prometheus3.sh)/prometheus" E2E_PROVIDER=plugin \
    E2E_SCENARIOS=wrong-sha,judge-late,good,bad bash test/e2e/run.sh
fi

# The scan of the image stage's image comes last: on a cold machine its scanner is still building
# in the background (.ci/run) while the end-to-end scenarios run.
if [ -f test/scan/run.sh ] && [ "${CANARY_JUDGE_SKIP_IMAGE:-0}" != 1 ]; then
  stage "image scan (osv-scanner offline, Node.js advisories, bookworm-security)"
  bash test/scan/run.sh
fi

stage "all tests passed"
