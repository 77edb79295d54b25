#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine. Idempotent: does nothing when one runs.
# On a Linux machine as root without an engine, installs Debian's docker.io and starts dockerd.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }

engine_up() { timeout 5 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  log "engine already running"
  exit 0
fi

if [ "$(uname -s)" != "Linux" ] || [ "$(id -u)" != "0" ]; then
  log "no Docker engine answers. Start Docker Desktop, or run this script as root on Linux,"
  log "or point DOCKER_HOST at a running engine."
  exit 1
fi

need_install=0
command -v dockerd >/dev/null 2>&1 || need_install=1
command -v debootstrap >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
  log "installing docker.io and debootstrap from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io debootstrap iptables ca-certificates >/dev/null
fi

if ! engine_up; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 0.5
  done
fi

if ! engine_up; then
  log "dockerd did not come up; last lines of /var/log/dockerd.log:"
  tail -n 30 /var/log/dockerd.log >&2 || true
  exit 1
fi
log "engine running: $(docker version --format '{{.Server.Version}}')"
