#!/usr/bin/env bash
# Assembles the scan stage's counter-example: the judge's built image plus one layer that holds
# what the advisory data knows to be vulnerable, to show that the scan fails on it:
#   - npm: lodash 4.17.15 and minimist 1.2.0 in /app/node_modules (the registry's tarballs, checked
#     against their integrity by `npm pack`), recorded in node_modules/.package-lock.json as npm
#     records what it installs;
#   - Debian: one installed package downgraded with apt to the bookworm release's version where the
#     security archive has a newer one. Right after a point release no such package may exist;
#     then the dpkg status of one package with a security update is set below that update's
#     version instead, and SEED_DEBIAN_HOW says so.
#   test/scan/seed.sh BASE_IMAGE TAG ENV_FILE
# Writes SEED_DEBIAN_PACKAGE, SEED_DEBIAN_VERSION and SEED_DEBIAN_HOW to ENV_FILE.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:?usage: test/scan/seed.sh BASE_IMAGE TAG ENV_FILE}
tag=${2:?usage: test/scan/seed.sh BASE_IMAGE TAG ENV_FILE}
env_file=${3:?usage: test/scan/seed.sh BASE_IMAGE TAG ENV_FILE}
tmp=$(mktemp -d)
ctr=""
cleanup() {
  [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ctr=$(buildah from --pull=never "$base")
mnt=$(buildah mount "$ctr")

# npm packages, as `npm pack` fetches them (integrity checked), unpacked where npm would put them.
(cd "$tmp" && npm pack --silent --json lodash@4.17.15 minimist@1.2.0 >packed.json)
for pkg in lodash minimist; do
  [ ! -e "$mnt/app/node_modules/$pkg" ] || { echo "seed: $pkg is already in the image" >&2; exit 1; }
  mkdir -p "$mnt/app/node_modules/$pkg"
  tar -xzf "$tmp/$pkg"-*.tgz -C "$mnt/app/node_modules/$pkg" --strip-components=1 --no-same-owner
done
node -e '
  const fs = require("fs");
  const [lockPath, packedPath] = process.argv.slice(1);
  const lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
  for (const p of JSON.parse(fs.readFileSync(packedPath, "utf8"))) {
    lock.packages["node_modules/" + p.name] = {
      version: p.version,
      resolved: `https://registry.npmjs.org/${p.name}/-/${p.filename}`,
      integrity: p.integrity,
      license: "MIT",
    };
  }
  fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");
' "$mnt/app/node_modules/.package-lock.json" "$tmp/packed.json"

# A Debian package older than the security archive's: the first installed package whose version in
# the bookworm release is older than the one installed (which came from the security archive) and
# that apt can downgrade without removing anything.
source "$here/scripts/lib/runtime-versions.sh"
cat >"$mnt/tmp/seed-debian.sh" <<'EOF'
set -eu
apt-get update -qq
dpkg-query -W -f '${Package} ${Version}\n' | while read -r p v; do
  # The version in the release itself (SUITE/main), not in -updates or -security.
  rel=$(apt-cache madison "$p" | awk -F'|' -v s=" $SUITE/main " 'index($3, s) {gsub(/ /, "", $2); print $2; exit}')
  [ -n "$rel" ] && dpkg --compare-versions "$rel" lt "$v" || continue
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades --no-remove \
       --no-install-recommends "$p=$rel" >/dev/null 2>&1; then
    printf 'SEED_DEBIAN_PACKAGE=%s\nSEED_DEBIAN_VERSION=%s\nSEED_DEBIAN_HOW=downgraded\n' "$p" "$rel" >/tmp/seed.env
    break
  fi
done
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/seed-debian.sh
EOF
buildah umount "$ctr" >/dev/null
buildah run --user root --network=host --env "SUITE=$DEBIAN_SUITE" "$ctr" -- sh /tmp/seed-debian.sh >&2
mnt=$(buildah mount "$ctr")
if [ -f "$mnt/tmp/seed.env" ]; then
  mv "$mnt/tmp/seed.env" "$env_file"
else
  # No package to downgrade today: lower the recorded version of one that has a security update.
  echo "seed: no package has an older release version today; editing the dpkg status instead" >&2
  apt=$tmp/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $DEBIAN_SUITE-security main" >"$apt/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Dir::State::status=/dev/null
    -o Debug::NoLocking=1 -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
  apt-get -qq "${opts[@]}" update >&2
  pkg=$(apt-cache "${opts[@]}" pkgnames | sort | comm -12 - <(dpkg-query --admindir="$mnt/var/lib/dpkg" -W -f '${Package}\n' | sort) | head -n 1)
  [ -n "$pkg" ] || { echo "seed: no installed package is in the security archive" >&2; exit 1; }
  version=$(dpkg-query --admindir="$mnt/var/lib/dpkg" -W -f '${Version}' "$pkg")~seed
  awk -v p="$pkg" -v v="$version" '/^Package: /{cur=$2} cur==p && /^Version: /{$0="Version: " v} {print}' \
    "$mnt/var/lib/dpkg/status" >"$tmp/status"
  cat "$tmp/status" >"$mnt/var/lib/dpkg/status"
  printf 'SEED_DEBIAN_PACKAGE=%s\nSEED_DEBIAN_VERSION=%s\nSEED_DEBIAN_HOW=status\n' "$pkg" "$version" >"$env_file"
fi
buildah umount "$ctr" >/dev/null
buildah commit --quiet --rm "$ctr" "$tag"
ctr=""
