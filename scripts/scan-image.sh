#!/usr/bin/env bash
# Scans a container image for known vulnerabilities without a scanner database download, and
# fails (exit 1) on any finding the allow-list does not accept:
#   - npm packages: osv-scanner (scripts/osv-scanner.sh) scans the image archive offline against
#     the advisories of security/advisories (scripts/scan/osv-db.ts makes its local database);
#   - the Node.js runtime: the image's `node --version` against the Node.js Security WG's runtime
#     advisories (security/advisories/nodejs-security-wg/core-index.json);
#   - Debian packages: every package of the image's dpkg status older (dpkg --compare-versions)
#     than the same package in the current bookworm-security index (fetched through apt) has a
#     published security fix not applied. The advisory ids are the CVEs the fixed package's
#     changelog names since the installed version.
# Prints a report (package, installed, fixed, advisory) and the verdict (scripts/scan/report.ts).
#   scripts/scan-image.sh IMAGE
#   CANARY_JUDGE_ALLOW_LIST        allow-list (default security/allow-list.yaml)
#   CANARY_JUDGE_SBOM              the image's SBOM: the scan must have seen each npm package it lists
#   CANARY_JUDGE_SCAN_OUT          directory to keep the findings (findings.json) and the raw inputs in
#   CANARY_JUDGE_SECURITY_APT_DIR  an apt state directory from an earlier scan to reuse (the stage
#                                  fetches the index once for the real and the seeded image)
#   DEBIAN_SECURITY_MIRROR         default http://deb.debian.org/debian-security
#   CONTAINER_ENGINE               podman (default) or docker
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
image=${1:?usage: scripts/scan-image.sh IMAGE}
engine=${CONTAINER_ENGINE:-podman}
allow=${CANARY_JUDGE_ALLOW_LIST:-$here/security/allow-list.yaml}
mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
source "$here/scripts/lib/runtime-versions.sh"
tsx="$here/node_modules/.bin/tsx"

work=$(mktemp -d)
ctr=""
cleanup() {
  [ -z "$ctr" ] || "$engine" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
out=${CANARY_JUDGE_SCAN_OUT:-$work/out}
mkdir -p "$out"

# 1. npm: the image as an archive, scanned by osv-scanner against the local database.
osv="$(bash "$here/scripts/osv-scanner.sh")/osv-scanner"
"$tsx" "$here/scripts/scan/osv-db.ts" "$work/db" >&2
"$engine" save --quiet --format docker-archive -o "$work/image.tar" "$image"
rc=0
OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="$work/db" "$osv" scan image --archive --offline \
  --all-packages --format json --output-file "$out/osv.json" "$work/image.tar" 2>"$work/osv.log" || rc=$?
# 0: nothing found, 1: vulnerabilities found; anything else is the scanner failing.
if [ "$rc" -gt 1 ]; then
  cat "$work/osv.log" >&2
  echo "scan: osv-scanner failed (exit $rc)" >&2
  exit 2
fi
rm -f "$work/image.tar"

# 2. the Node.js runtime, as the image runs it (flags as the image stage's: runc, host ulimits).
node_version=$("$engine" run --rm --network none --runtime runc --ulimit nofile=1024:20000 \
  --ulimit nproc=4096:4096 --entrypoint node "$image" --version)
echo "$node_version" >"$out/node-version"

# 3. Debian: the image's dpkg status against the current bookworm-security index.
ctr=$("$engine" create "$image")
"$engine" cp "$ctr:/var/lib/dpkg/status" "$work/status"
apt_dir=${CANARY_JUDGE_SECURITY_APT_DIR:-$work/apt}
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null
  -o Debug::NoLocking=1 -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User=root)
if [ ! -f "$apt_dir/fetched" ]; then
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb $mirror $DEBIAN_SUITE-security main" >"$apt_dir/sources.list"
  apt-get -qq "${apt_opts[@]}" update >&2
  touch "$apt_dir/fetched"
fi
apt-cache "${apt_opts[@]}" dumpavail |
  awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Source: /{s=$2} /^$/{if(p!="")print p"\t"v"\t"(s==""?p:s); p=v=s=""}' \
    >"$work/security.tsv"
[ -s "$work/security.tsv" ] || { echo "scan: the $DEBIAN_SUITE-security index is empty" >&2; exit 2; }
# Installed packages: package, version, source package.
awk -v RS= -F'\n' '{
    p=v=s=st=""
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^Package: /) p = substr($i, 10)
      else if ($i ~ /^Version: /) v = substr($i, 10)
      else if ($i ~ /^Source: /) s = substr($i, 9)
      else if ($i ~ /^Status: /) st = substr($i, 9)
    }
    sub(/ .*/, "", s)
    if (st ~ / installed$/) print p "\t" v "\t" (s == "" ? p : s)
  }' "$work/status" >"$work/installed.tsv"
debian_count=$(wc -l <"$work/installed.tsv")

# The CVEs of the changelog entries of the fixed package newer than the installed version.
changelog_cves() {
  local pkg=$1 installed=$2 fixed=$3 deb log
  (cd "$work/debs" && apt-get -qq "${apt_opts[@]}" download "$pkg=$fixed" >/dev/null 2>&1) || return 0
  local debs=("$work/debs/${pkg}_"*.deb)
  deb=${debs[0]}
  [ -f "$deb" ] || return 0
  # Debian's changelog; a native package (apt, dpkg, …) has only changelog.gz.
  log=$(dpkg-deb --fsys-tarfile "$deb" | tar -t |
    awk -v d="./usr/share/doc/$pkg/" '$0 == d "changelog.Debian.gz" || $0 == d "changelog.gz"' | sort | head -n 1)
  [ -n "$log" ] || return 0
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "$log" 2>/dev/null |
    gzip -dc 2>/dev/null | while IFS= read -r line; do
      if [[ $line =~ ^[a-z0-9][^\ ]*\ \(([^\)]+)\) ]]; then
        dpkg --compare-versions "${BASH_REMATCH[1]}" gt "$installed" || break
      fi
      grep -oE 'CVE-[0-9]{4}-[0-9]+' <<<"$line" || true
    done | sort -u | tr '\n' ' '
}
mkdir -p "$work/debs"
: >"$out/debian.tsv"
while IFS=$'\t' read -r pkg installed src; do
  fixed=$(awk -F'\t' -v p="$pkg" '$1 == p {print $2}' "$work/security.tsv" | sort -V | tail -n 1)
  [ -n "$fixed" ] || continue
  if dpkg --compare-versions "$installed" lt "$fixed"; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$pkg" "$installed" "$fixed" "$src" \
      "$(changelog_cves "$pkg" "$installed" "$fixed")" >>"$out/debian.tsv"
  fi
done <"$work/installed.tsv"

args=(--osv "$out/osv.json" --node "$node_version" --debian "$out/debian.tsv" --debian-count "$debian_count"
  --allow-list "$allow" --json "$out/findings.json")
[ -z "${CANARY_JUDGE_SBOM:-}" ] || args+=(--sbom "$CANARY_JUDGE_SBOM")
"$tsx" "$here/scripts/scan/report.ts" "${args[@]}"
