#!/usr/bin/env bash
# The npm package as a user gets it, without a clone: `npm pack` (its prepack compiles src/ with
# tsconfig.build.json), the tarball's contents checked (the compiled JavaScript, package.json and
# README; no TypeScript source, no tests, no node_modules), then `npm install --omit=dev` of the
# tarball into an empty prefix on the image's Node.js (scripts/node-runtime.sh), and the installed
# `canary-judge` run from outside the repository: --version, --help, `report --help`, a report
# refused for want of its arguments, and the image's entrypoint (`node dist/src/main.js report`).
# The e2e runs its reports against the real control plane with the same installed command.
#
#   bash test/package/run.sh [PREFIX]
#
# PREFIX (optional, outside the repository): where to install and keep the package; its
# command is PREFIX/node_modules/.bin/canary-judge. Without it, a temporary prefix is removed at
# the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
say() { echo "package: $*"; }
fail() { echo "package: FAILED: $*" >&2; exit 1; }
t0=$SECONDS

node_runtime=$(bash scripts/node-runtime.sh)
export PATH="$node_runtime/bin:$PATH"
unset NODE_PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/canary-judge-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=${1:-$work/prefix}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
case "$prefix/" in
  "$root"/*) fail "PREFIX must be outside the repository, or its node_modules would stand in for the package's" ;;
esac
[ -z "$(ls -A "$prefix")" ] || fail "PREFIX $prefix is not empty"

# 1. pack: the tarball holds what runs, nothing else
npm pack --silent --pack-destination "$work" >"$work/name" || fail "npm pack failed"
tarball="$work/$(tail -n 1 "$work/name")"
[ -f "$tarball" ] || fail "npm pack printed $(cat "$work/name"), no such file"
tar -tzf "$tarball" | sort >"$work/files"
stray=$(grep -Ev '^package/(package\.json|README\.md|LICENSE|dist/src/.+\.js)$' "$work/files" || true)
[ -z "$stray" ] || fail "the tarball holds more than the compiled code, package.json and README:
$stray"
for f in package/package.json package/dist/src/cli.js package/dist/src/main.js package/dist/src/report/cli.js; do
  grep -qx "$f" "$work/files" || fail "the tarball lacks $f"
done
[ "$(tar -xzOf "$tarball" package/dist/src/cli.js | head -n 1)" = '#!/usr/bin/env node' ] ||
  fail "dist/src/cli.js does not start with #!/usr/bin/env node"
say "$(basename "$tarball"): $(wc -l <"$work/files") files, $(($(stat -c %s "$tarball") / 1024)) KiB ($((SECONDS - t0))s)"

# 2. install as a user would, production dependencies only, into the empty prefix
t1=$SECONDS
npm install --prefix "$prefix" --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error "$tarball" >/dev/null ||
  fail "npm install of the tarball failed"
pkg="$prefix/node_modules/canary-judge"
bin="$prefix/node_modules/.bin/canary-judge"
if [ ! -x "$bin" ] || [ ! -x "$pkg/dist/src/cli.js" ]; then fail "the installed $bin is not executable"; fi
# Nothing of the development tooling came along (a production dependency may share a devDependency's name, e.g. @types/node).
for dev in tsx typescript vitest esbuild eslint prettier; do
  [ ! -e "$prefix/node_modules/$dev" ] || fail "$dev (a development tool) was installed"
done
count=$(cd "$prefix" && npm ls --all --parseable --omit=dev 2>/dev/null | tail -n +2 | wc -l)
say "installed into an empty prefix with --omit=dev: $count packages with canary-judge, $(du -sm "$prefix/node_modules" | cut -f1) MB ($((SECONDS - t1))s)"

# 3. run it, from outside the repository, on the image's Node.js
cd "$work"
version=$(node -p "require('$root/package.json').version")
got=$("$bin" --version) || fail "canary-judge --version exited $?"
[ "$got" = "$version" ] || fail "canary-judge --version printed '$got', not $version"
"$bin" --help >"$work/help" || fail "canary-judge --help exited $?"
grep -q 'canary-judge --version' "$work/help" || fail "canary-judge --help printed: $(cat "$work/help")"
"$bin" report --help >"$work/report-help" || fail "canary-judge report --help exited $?"
grep -q '^usage: canary-judge report ROLLOUT -n NAMESPACE' "$work/report-help" ||
  fail "canary-judge report --help printed: $(cat "$work/report-help")"
code=0
"$bin" report 2>"$work/refused" || code=$?
if [ "$code" != 1 ] || ! grep -q 'a Rollout name and its namespace are required' "$work/refused"; then
  fail "canary-judge report without a Rollout exited $code: $(cat "$work/refused")"
fi
# The image's entrypoint is `node dist/src/main.js`; given `report` it runs the report.
(cd "$pkg" && node dist/src/main.js report --help) >"$work/image-help" || fail "node dist/src/main.js report --help exited $?"
cmp -s "$work/report-help" "$work/image-help" || fail "node dist/src/main.js report --help printed: $(cat "$work/image-help")"
say "canary-judge $got on node $(node --version): --version, --help, report --help, a refused report and main.js report --help as expected"
say "passed in $((SECONDS - t0))s; the command: $bin"
