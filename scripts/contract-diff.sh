#!/usr/bin/env bash
# The static contract check: does REVISION (a new version's OpenAPI document) still honour
# BASE (the contract its consumers rely on, e.g. contracts/catalogo/openapi.yaml)? Runs oasdiff's
# breaking-change checks and prints one line per break, naming the operation and what broke:
#
#   bash scripts/contract-diff.sh contracts/catalogo/openapi.yaml path/to/v1.2/openapi.yaml
#
# Exit 0: compatible (additions only); 1: breaking changes (each listed); 2: a document could
# not be read or the tool failed. Warnings count as breaks, and scripts/contract-diff.levels
# raises two removals oasdiff rates as info to errors: an optional response field and a declared
# error status (consumers read optional fields and handle the 404 they were promised).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BASE.yaml REVISION.yaml" >&2
  exit 2
fi
base=$1 revision=$2
for f in "$base" "$revision"; do
  [ -r "$f" ] || { echo "contract-diff: cannot read $f" >&2; exit 2; }
done
here=$(cd "$(dirname "$0")" && pwd)
oasdiff=$(bash "$here/oasdiff.sh")
set +e
report=$("$oasdiff" breaking "$base" "$revision" --format json --allow-external-refs=false \
  --severity-levels "$here/contract-diff.levels" 2>&1)
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "contract-diff: oasdiff could not compare the documents:" >&2
  echo "$report" >&2
  exit 2
fi
REPORT=$report BASE=$base REVISION=$revision node --input-type=module -e '
const changes = JSON.parse(process.env.REPORT || "[]");
const level = { 1: "info", 2: "warning", 3: "error" };
const breaks = changes.filter((c) => c.level >= 2);
const where = (c) => `${c.operation ?? ""} ${c.path ?? ""}`.trim() + (c.operationId ? ` (${c.operationId})` : "");
if (breaks.length === 0) {
  console.log(`contract-diff: ${process.env.REVISION} honours ${process.env.BASE}: no breaking change`);
  process.exit(0);
}
console.log(`contract-diff: ${breaks.length} breaking change(s) from ${process.env.BASE} to ${process.env.REVISION}:`);
for (const c of breaks) console.log(`  BREAK ${where(c) || c.section}: ${c.text} [${c.id}, ${level[c.level]}]`);
process.exit(1);
'
