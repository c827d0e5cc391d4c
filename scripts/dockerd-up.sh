#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock: installs Debian's docker.io when dockerd is
# missing and starts dockerd in the background when it is not running (CI machines have no systemd).
# The engine is left running for later steps and runs; its log is /var/log/codex-gateway-dockerd.log.
set -euo pipefail
log() { echo "[dockerd-up] $*" >&2; }
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null; then
  log "installing docker.io (apt)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
log "starting dockerd"
# setsid: not in our process group, so a CI step ending does not take the engine down mid-build.
setsid dockerd --storage-driver=overlay2 >>/var/log/codex-gateway-dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { log "dockerd up ($(docker version -f '{{.Server.Version}}'))"; exit 0; }
  sleep 1
done
log "dockerd did not come up:"
tail -30 /var/log/codex-gateway-dockerd.log >&2
exit 1
