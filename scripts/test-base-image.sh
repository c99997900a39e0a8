#!/usr/bin/env bash
# A local stand-in for `node:24-bookworm-slim`, so CI can build and run dockhand's own Dockerfile on the private
# engine (scripts/test-services.sh), which can pull nothing from outside.
#
#   scripts/test-base-image.sh ensure   make sure the engine has the image (prints its tag on stdout)
#   scripts/test-base-image.sh tag      print the tag without making anything
#   scripts/test-base-image.sh env      print `export DOCKHAND_TEST_BASE_IMAGE=<tag>` (after `ensure`)
#
# What it is: a Debian 12 `minbase` rootfs from Debian's archive (debootstrap), with Node from the npm registry
# (the `node-linux-<arch>` package: the same binary as the devDependency `node`, at the lockfile's version) and
# npm (`npm` package, the version of the npm running this script) under /usr/local, and the user `node`
# (uid/gid 1000) — the parts of the official image the Dockerfile relies on. git, openssh-client and
# ca-certificates are installed too, so the Dockerfile's `apt-get install` of them finds nothing to do, and the CAs
# this machine adds in /usr/local/share/ca-certificates are trusted (by npm too), as they are on the host.
#
# Making it takes a few minutes, so the rootfs is kept as a tarball in $DOCKHAND_BASE_CACHE (default
# /var/cache/dockhand) and imported from there next time; when the engine already has the tag, nothing is done.
# The tag names the Node and npm versions and the architecture, so a lockfile that moves Node makes a new one.
# Needs root (debootstrap, chroot), the `docker` CLI with DOCKER_HOST set, and network to Debian's archive and
# the npm registry.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DOCKHAND_BASE_CACHE:-/var/cache/dockhand}
MIRROR=${DOCKHAND_BASE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=git,openssh-client,ca-certificates
# Part of the tag and the cache's name: bump it when make_rootfs changes, so machines make the new one.
REVISION=2

log() { echo "test-base-image: $*" >&2; }

node_version() {
  # the version of the devDependency `node` the lockfile pins (any Node can read it: this runs before npm ci too)
  sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' "$ROOT/package-lock.json" | head -n 1
}

node_arch() {
  case $(dpkg --print-architecture) in
    amd64) echo x64 ;;
    arm64) echo arm64 ;;
    *) log "no Node binary package for $(dpkg --print-architecture)"; exit 1 ;;
  esac
}

NODE_VERSION=$(node_version)
[[ -n $NODE_VERSION ]] || { log "no node_modules/node entry in package-lock.json"; exit 1; }
NPM_VERSION=${DOCKHAND_BASE_NPM_VERSION:-$(npm --version)}
ARCH=$(node_arch)
TAG="dockhand-test/node-base:${NODE_VERSION}-npm${NPM_VERSION}-${SUITE}-${ARCH}-r${REVISION}"
TARBALL="$CACHE/node-base-${NODE_VERSION}-npm${NPM_VERSION}-${SUITE}-${ARCH}-r${REVISION}.tar"

has_image() { docker image inspect "$TAG" >/dev/null 2>&1; }

# remove_work DIR: unmount what a failed debootstrap may have left mounted inside (proc, sys), then delete it
remove_work() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$1"
}

make_rootfs() {
  local work=$1 rootfs=$1/rootfs t=$SECONDS
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } </dev/null >/dev/null
  }
  log "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; log "debootstrap failed (log above)"; exit 1; }
  log "debootstrap took $((SECONDS - t))s"

  log "node-linux-$ARCH@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-$ARCH@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-$ARCH-$NODE_VERSION.tgz" -C "$rootfs/usr/local" --strip-components=1 \
    package/bin package/include package/share
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

  # as in the official image: a `node` user and group, uid/gid 1000
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # This machine's own extra CAs (a TLS-inspecting egress proxy, a company CA): without them the Dockerfile's
  # `npm ci` fails with SELF_SIGNED_CERT_IN_CHAIN. npm (Node) ignores the system store unless told, so its global
  # config (/usr/local/etc/npmrc for this prefix) points at the bundle update-ca-certificates writes.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
    mkdir -p "$rootfs/usr/local/etc"
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >"$rootfs/usr/local/etc/npmrc"
    log "added this machine's CAs: $(cd /usr/local/share/ca-certificates && echo *.crt)"
  fi
  chroot "$rootfs" /usr/local/bin/node --version >/dev/null
  chroot "$rootfs" /usr/local/bin/npm --version >/dev/null

  # Debian's official images keep apt from storing its package caches and translations (apt-get update would
  # otherwise leave ~80 MB of /var/cache/apt/*.bin and translations in the layer that installs packages); so does
  # this one.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"

  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* "$rootfs"/root/.npm
}

cmd_ensure() {
  command -v docker >/dev/null || { log "the docker CLI is missing (scripts/test-services.sh install)"; exit 1; }
  [[ -n ${DOCKER_HOST:-} ]] || log "DOCKER_HOST is not set; using the docker CLI's default engine"
  local t0=$SECONDS
  if has_image; then
    log "$TAG already on the engine"
    echo "$TAG"
    return 0
  fi
  mkdir -p "$CACHE"
  # one maker at a time on this machine; a second caller waits and then finds the tarball
  exec 8>"$CACHE/.node-base.lock"
  flock -w 900 8 || { log "could not lock $CACHE/.node-base.lock"; exit 1; }
  if [[ ! -s $TARBALL ]]; then
    [[ $(id -u) == 0 ]] || { log "making the base image needs root (debootstrap, chroot)"; exit 1; }
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/dockhand-base.XXXXXX")
    # shellcheck disable=SC2064 # expand $work now
    trap "remove_work '$work'; rm -f '$TARBALL.partial'" EXIT
    make_rootfs "$work"
    tar -C "$work/rootfs" --numeric-owner -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
    remove_work "$work"
    trap - EXIT
    log "cached $TARBALL ($(du -h "$TARBALL" | cut -f1))"
  else
    log "using the cached $TARBALL"
  fi
  docker import --message "dockhand test base: Debian $SUITE minbase, Node $NODE_VERSION, npm $NPM_VERSION" \
    "$TARBALL" "$TAG" >/dev/null
  log "$TAG ready in $((SECONDS - t0))s"
  echo "$TAG"
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  tag) echo "$TAG" ;;
  env) echo "export DOCKHAND_TEST_BASE_IMAGE=$TAG" ;;
  *)
    echo "usage: $0 ensure|tag|env" >&2
    exit 2
    ;;
esac
