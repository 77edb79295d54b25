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

# The engine's log; PRODLIKE_DOCKERD_LOG moves it (the tests' fake dockerd must not write over the real one's).
dockerd_log="${PRODLIKE_DOCKERD_LOG:-/var/log/dockerd.log}"
if ! engine_up; then
  log "starting dockerd (its log: $dockerd_log)"
  mkdir -p "$(dirname "$dockerd_log")"
  # In a session of its own, away from this terminal: Ctrl-C on whatever runs next in it (`npm run
  # demo`'s `prodlike up`) goes to the terminal's whole process group, and dockerd (Go) takes SIGINT
  # back even where the shell ignored it for a background job: it would stop, and leave the stack's
  # containers behind. A hangup of the terminal does not reach it either.
  setsid -f dockerd >"$dockerd_log" 2>&1 </dev/null
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 0.5
  done
fi

if ! engine_up; then
  log "dockerd did not come up; last lines of $dockerd_log:"
  tail -n 30 "$dockerd_log" >&2 || true
  exit 1
fi
log "engine running: $(docker version --format '{{.Server.Version}}')"
