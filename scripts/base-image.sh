#!/usr/bin/env bash
# Provides the Dockerfile's base image, node:<version>-bookworm-slim, in the local container
# storage without a registry: a minimal Debian rootfs from debootstrap (the Debian mirror), slimmed
# as the -slim images are, with their apt sources (bookworm, bookworm-updates, bookworm-security)
# and Debian's updates taken as they take them when they are built, plus Node.js's official binary
# and npm (scripts/node-runtime.sh) in /usr/local, committed and tagged with the very name the
# Dockerfile's FROM uses. The Dockerfile
# stays exactly what a registry-based build runs; only where its base comes from differs.
# The rootfs and the committed image are cached outside the repository, keyed by version:
# a second run (or a clean clone on the same machine) loads or finds them in seconds.
# Prints the image name. Needs root, debootstrap and buildah.
#   CANARY_JUDGE_CACHE   cache root (default: $XDG_CACHE_HOME/canary-judge or ~/.cache/canary-judge)
#   DEBIAN_MIRROR        default http://deb.debian.org/debian
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/lib/runtime-versions.sh"
cache=${CANARY_JUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-judge}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
image="docker.io/library/$NODE_IMAGE"
# The stand-in's layout: 2 = with the official image's apt sources and Debian's updates applied.
# An older stand-in in the container storage or the cache is rebuilt.
layout=2
dir="$cache/node-image-$NODE_VERSION-npm-$NPM_VERSION-$DEBIAN_SUITE-$layout"
archive="$dir/image.oci.tar"
rootfs="$cache/debian-$DEBIAN_SUITE-minbase/rootfs.tar"
current() {
  [ "$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "org.canary-judge.stand-in-layout"}}' "$image" 2>/dev/null)" = "$layout" ]
}

if current; then
  echo "$image"
  exit 0
fi
if [ -f "$archive" ]; then
  # The archive names the image without a registry; give it the Dockerfile's full name back.
  id=$(buildah pull --quiet "oci-archive:$archive")
  buildah tag "$id" "$image"
  buildah rmi "localhost/$NODE_IMAGE" >/dev/null 2>&1 || true
  if current; then
    echo "$image"
    exit 0
  fi
  echo "base-image: $archive did not load as $image; rebuilding it" >&2
fi

node_dir=$(bash "$here/scripts/node-runtime.sh")
mkdir -p "$dir" "$(dirname "$rootfs")"
if [ ! -f "$rootfs" ]; then
  echo "base-image: debootstrap $DEBIAN_SUITE (minbase) from $mirror (a minute or two)..." >&2
  t0=$SECONDS
  tmp=$(mktemp -d "$cache/.debootstrap.XXXXXX")
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$tmp/root" "$mirror" >"$tmp/log" 2>&1 || {
    tail -n 30 "$tmp/log" >&2
    rm -rf "$tmp"
    exit 1
  }
  # What the -slim images leave out: documentation, manuals, translations, apt's indexes.
  rm -rf "$tmp/root"/usr/share/doc/* "$tmp/root"/usr/share/man/* "$tmp/root"/usr/share/info/* \
    "$tmp/root"/usr/share/locale/* "$tmp/root"/var/lib/apt/lists/* "$tmp/root"/var/cache/apt/*.bin \
    "$tmp/root"/var/cache/apt/archives/*.deb "$tmp/root"/var/log/*.log
  tar --numeric-owner -C "$tmp/root" -cf "$rootfs.tmp" .
  mv "$rootfs.tmp" "$rootfs"
  rm -rf "$tmp"
  echo "base-image: rootfs ready in $((SECONDS - t0))s" >&2
fi

echo "base-image: committing $image" >&2
ctr=$(buildah from scratch)
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
mnt=$(buildah mount "$ctr")
tar --numeric-owner -C "$mnt" -xf "$rootfs"
# apt's sources as the official image has them, then Debian's updates taken (the security
# archive's among them), as its builds take them; the Dockerfile takes newer ones again.
rm -f "$mnt/etc/apt/sources.list"
cat >"$mnt/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# What the -slim images keep dpkg from installing again (documentation, manuals, translations).
cat >"$mnt/etc/dpkg/dpkg.cfg.d/slim" <<EOF
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
buildah run --network=host --env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$ctr" -- sh -c 'apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq --no-install-recommends >/dev/null \
  && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log' >&2
cp -a "$node_dir/bin/." "$mnt/usr/local/bin/"
mkdir -p "$mnt/usr/local/lib/node_modules" "$mnt/usr/local/share/doc/node"
cp -a "$node_dir/lib/node_modules/npm" "$mnt/usr/local/lib/node_modules/"
cp "$node_dir/LICENSE" "$mnt/usr/local/share/doc/node/LICENSE"
buildah umount "$ctr" >/dev/null
buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" \
  --cmd node \
  --label org.opencontainers.image.description="local stand-in for $NODE_IMAGE (debootstrap $DEBIAN_SUITE minbase + official node binary)" \
  --label org.canary-judge.stand-in-layout="$layout" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
trap - EXIT
rm -f "$archive"
buildah push --quiet "$image" "oci-archive:$archive:$NODE_IMAGE" >/dev/null
echo "$image"
