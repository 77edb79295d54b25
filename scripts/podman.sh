#!/usr/bin/env bash
# A rootless Podman engine with a Docker-compatible API socket, for checking prodlike against it.
#
#   bash scripts/podman.sh start   install Debian's podman (idempotent), make the user, start the service
#   bash scripts/podman.sh env     print DOCKER_HOST=unix://... for that service
#   bash scripts/podman.sh stop    stop the service; remove that user's containers, networks and volumes
#
# Root on Debian/Ubuntu only. Leaves the machine's Docker engine alone: the service runs as its own
# user (PRODLIKE_PODMAN_USER, default prodlike-podman) with its own storage, networks and socket.
# See docs/podman.md for what works through this socket and what does not.
set -euo pipefail

PUSER="${PRODLIKE_PODMAN_USER:-prodlike-podman}"
WAIT_S=60
TUN_MODE_FILE=/run/prodlike-podman-tun-mode

log() { printf '[podman] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(uname -s)" = Linux ] || die "Linux only"
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and makes the user $PUSER)"

user_exists() { id -u "$PUSER" >/dev/null 2>&1; }
uid_of() { id -u "$PUSER"; }
runtime_dir() { echo "/run/user/$(uid_of)"; }
sock_path() { echo "$(runtime_dir)/podman/podman.sock"; }
pid_file() { echo "$(runtime_dir)/prodlike-podman-service.pid"; }
log_file() { echo "/var/log/prodlike-podman-service.log"; }
home_of() { getent passwd "$PUSER" | cut -d: -f6; }

# Run a command as the user, in its rootless environment (no login session, no systemd).
as_user() {
  runuser -u "$PUSER" -- env -i \
    HOME="$(home_of)" USER="$PUSER" LOGNAME="$PUSER" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    XDG_RUNTIME_DIR="$(runtime_dir)" XDG_CONFIG_HOME="$(home_of)/.config" XDG_DATA_HOME="$(home_of)/.local/share" \
    "$@"
}

ping_ok() { [ -S "$(sock_path)" ] && curl -fsS --max-time 2 --unix-socket "$(sock_path)" http://d/_ping >/dev/null 2>&1; }

service_pid() {
  local f; f="$(pid_file)"
  [ -f "$f" ] || return 1
  local pid; pid="$(cat "$f")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_packages() {
  local missing=()
  for cmd in podman:podman newuidmap:uidmap slirp4netns:slirp4netns fuse-overlayfs:fuse-overlayfs \
    /usr/lib/podman/netavark:netavark /usr/lib/podman/aardvark-dns:aardvark-dns catatonit:catatonit runc:runc crun:crun curl:curl; do
    local bin="${cmd%%:*}" pkg="${cmd##*:}"
    if [[ "$bin" == /* ]]; then [ -x "$bin" ] || missing+=("$pkg"); else command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg"); fi
  done
  [ "${#missing[@]}" = 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "no apt-get: install podman, uidmap, slirp4netns, netavark, aardvark-dns yourself"
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq || die "apt-get update failed"
  # No recommends: buildah, dbus-user-session etc. are not needed for the API service.
  timeout 600 apt-get install -y -qq --no-install-recommends podman uidmap slirp4netns fuse-overlayfs \
    netavark aardvark-dns catatonit crun runc curl >/dev/null || die "apt-get install failed"
}

# XDG_RUNTIME_DIR as pam_systemd would make it (there is no login session here).
ensure_runtime_dir() {
  install -d -o "$PUSER" -g "$PUSER" -m 0700 "$(runtime_dir)"
}

ensure_user() {
  if ! user_exists; then
    log "creating user $PUSER"
    useradd --create-home --shell /usr/sbin/nologin --comment "prodlike rootless podman" "$PUSER"
  fi
  local start=$((200000 + $(uid_of) * 65536 % 100000000))
  grep -q "^$PUSER:" /etc/subuid 2>/dev/null || usermod --add-subuids "$start-$((start + 65535))" "$PUSER"
  grep -q "^$PUSER:" /etc/subgid 2>/dev/null || usermod --add-subgids "$start-$((start + 65535))" "$PUSER"

  ensure_runtime_dir

  # No systemd session for this user: cgroupfs and a file for the event log, no journald.
  if [ -d /run/systemd/system ]; then
    log "note: systemd runs here, but this script uses no user session (no health-check timers, no delegated cgroups): see docs/podman.md"
  fi
  local conf
  conf="$(home_of)/.config/containers"
  install -d -o "$PUSER" -g "$PUSER" "$(home_of)/.config" "$conf"
  # crun (podman's first choice) refuses cgroups v1/hybrid hosts ("cgroups in hybrid mode not
  # supported, drop all controllers from cgroupv2"); runc runs there (without resource limits).
  local runtime=crun
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || runtime=runc
  cat >"$conf/containers.conf" <<EOF
# Written by prodlike scripts/podman.sh
[containers]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "$runtime"
EOF
  # Native rootless overlay (kernel >= 5.13): without this file podman 4.3 picks vfs, which
  # copies every layer in full. A store already made with another driver must be reset first.
  cat >"$conf/storage.conf" <<EOF
# Written by prodlike scripts/podman.sh
[storage]
driver = "overlay"
runroot = "$(runtime_dir)/containers"
graphroot = "$(home_of)/.local/share/containers/storage"
EOF
  chown "$PUSER:$PUSER" "$conf/containers.conf" "$conf/storage.conf"

  # slirp4netns opens /dev/net/tun inside the user's namespace: it must be world-usable
  # (0666 is Debian's default; some VMs ship it 0600).
  if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
    log "making /dev/net/tun usable by $PUSER (chmod 0666, Debian's default; \`stop\` puts back $(stat -c %a /dev/net/tun))"
    stat -c %a /dev/net/tun >"$TUN_MODE_FILE"
    chmod 0666 /dev/net/tun
  fi
}

start() {
  install_packages
  ensure_user
  if ping_ok; then
    log "service already running (pid $(service_pid || echo '?')) at $(sock_path)"
    # Print the line here too: `export $(bash scripts/podman.sh start)` must work on a second start.
    env_line
    return 0
  fi
  local sock; sock="$(sock_path)"
  install -d -o "$PUSER" -g "$PUSER" -m 0700 "$(dirname "$sock")"
  rm -f "$sock"
  # Settle the user's storage and namespace first: errors here are clearer than the service's.
  if ! out="$(as_user timeout 60 podman info --format '{{.Host.NetworkBackend}} {{.Host.CgroupsVersion}} {{.Store.GraphDriverName}}' 2>&1)"; then
    die "podman info failed as $PUSER: $out"
  fi
  if [[ "$out" == *" vfs" ]]; then
    log "$PUSER's store was made with vfs: resetting it to use overlay (its images are lost)"
    as_user timeout 60 podman system reset --force >/dev/null 2>&1 || die "podman system reset failed as $PUSER"
    out="$(as_user timeout 60 podman info --format '{{.Host.NetworkBackend}} {{.Host.CgroupsVersion}} {{.Store.GraphDriverName}}' 2>&1)" ||
      die "podman info failed as $PUSER: $out"
  fi
  log "podman $(as_user podman --version | awk '{print $3}'): network backend, cgroups, storage: ${out##*$'\n'}"
  : >"$(log_file)"
  chown "$PUSER:$PUSER" "$(log_file)"
  log "starting podman system service at $sock (log: $(log_file))"
  rm -f "$(pid_file)"
  # The user's shell writes its own pid, then becomes the service: the pid file names podman itself.
  # shellcheck disable=SC2016 # expanded by that shell
  as_user setsid sh -c 'echo $$ >"$1"; exec podman system service --time=0 "unix://$2"' sh "$(pid_file)" "$sock" \
    </dev/null >>"$(log_file)" 2>&1 &
  local waited=0
  until ping_ok; do
    if [ "$waited" -ge 4 ] && ! service_pid >/dev/null; then
      tail -n 20 "$(log_file)" >&2 || true
      die "the service exited before it answered"
    fi
    [ "$waited" -ge $((WAIT_S * 2)) ] && { tail -n 20 "$(log_file)" >&2 || true; die "no answer at $sock within ${WAIT_S}s"; }
    sleep 0.5
    waited=$((waited + 1))
  done
  log "service answers: $(curl -fsS --max-time 5 --unix-socket "$sock" http://d/version | tr -d '\n' | cut -c1-160)"
  env_line
}

env_line() {
  user_exists || die "user $PUSER does not exist: run \`$0 start\` first"
  echo "DOCKER_HOST=unix://$(sock_path)"
}

# Kill by pid, TERM then KILL after a bounded wait.
kill_pids() {
  [ "$#" -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 20); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  kill -KILL "$@" 2>/dev/null || true
}

stop() {
  if ! user_exists; then log "user $PUSER does not exist: nothing to stop"; return 0; fi
  ensure_runtime_dir
  if command -v podman >/dev/null 2>&1; then
    log "removing $PUSER's containers, pods, networks and volumes"
    as_user timeout 60 podman rm --all --force --time 2 >/dev/null 2>&1 || log "warning: podman rm --all failed"
    as_user timeout 30 podman pod rm --all --force >/dev/null 2>&1 || true
    as_user timeout 30 podman network prune --force >/dev/null 2>&1 || log "warning: podman network prune failed"
    as_user timeout 30 podman volume prune --force >/dev/null 2>&1 || log "warning: podman volume prune failed"
  fi
  local pid
  if pid="$(service_pid)"; then
    log "stopping the service (pid $pid)"
    kill_pids "$pid"
  fi
  rm -f "$(pid_file)" "$(sock_path)"
  # What podman left running for the user (its pause process, conmon, slirp4netns, aardvark-dns):
  # all of that user's processes were started by this script's service.
  local left
  left="$(pgrep -u "$(uid_of)" || true)"
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    kill_pids $left
  fi
  # The runtime state (runroot, rootless netns, events log): the next start begins as after a boot.
  rm -rf "$(runtime_dir)"
  if [ -f "$TUN_MODE_FILE" ]; then
    chmod "$(cat "$TUN_MODE_FILE")" /dev/net/tun && rm -f "$TUN_MODE_FILE"
  fi
  log "stopped (packages, the user and its images are kept; \`podman system reset\` as $PUSER removes the images)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_line ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
