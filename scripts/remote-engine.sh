#!/usr/bin/env bash
# A second Docker engine for tests, as if on another machine: its own network namespace with its
# own dockerd, reachable only at tcp://<namespace address>:2375 (no TLS: the address exists only
# on this machine). Its containers reach the outside (Debian's mirror, PyPI) through NAT on the host.
#
#   bash scripts/remote-engine.sh start [NAME]   # prints DOCKER_HOST=tcp://10.203.N.2:2375 once `docker info` answers
#   bash scripts/remote-engine.sh env [NAME]     # prints the same line if that engine runs (exit 1 if not)
#   bash scripts/remote-engine.sh stop [NAME]    # removes everything start made: dockerd, its containers,
#                                                # mounts, cgroups, data, namespace, veth, iptables rules
#
# NAME (default "default"; [a-z0-9-], at most 24 characters) lets several run at once (at most 16).
# Everything it makes is named with a prodlike-test prefix: namespace prodlike-test-NAME, host
# veth prodlike-testN, iptables rules commented prodlike-test:NAME, dirs /var/lib/prodlike-test/NAME
# and /run/prodlike-test/NAME, cgroups /prodlike-test-NAME. It touches nothing else: the main
# engine's containers, networks and iptables chains are left alone.
# Linux and root only. Needs ip (iproute2), nsenter (util-linux), iptables, dockerd, docker.
# Addresses for engine index N (0-15): veth 10.203.N.0/24 (host .1, namespace .2), the engine's
# docker0 10.(204+N).0.1/24, its other networks /24s from 10.(204+N).128.0/17: none of them in
# the pools the main engine allocates from (172.17-31.0.0/16, 192.168.0.0/16).
set -euo pipefail

PREFIX=prodlike-test
RUN_BASE=/run/$PREFIX
DATA_BASE=/var/lib/$PREFIX
MAX_ENGINES=16
START_TIMEOUT=${PRODLIKE_REMOTE_ENGINE_START_TIMEOUT:-60}

log() { printf '[remote-engine] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 start|stop|env [NAME]" >&2
  exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
CMD=$1
NAME=${2:-default}
case "$CMD" in start | stop | env) ;; *) usage ;; esac
[[ "$NAME" =~ ^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$ ]] || die "bad NAME '$NAME': use 1-24 of [a-z0-9-], not starting or ending with '-'"

[ "$(uname -s)" = "Linux" ] || die "needs Linux (network namespaces, iptables); this is $(uname -s)"
[ "$(id -u)" = "0" ] || die "needs root (network namespaces, veth, iptables, dockerd); run it with sudo"
for tool in ip nsenter iptables dockerd docker flock timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (apt-get install iproute2 util-linux iptables docker.io)"
done

NS=$PREFIX-$NAME                # network namespace
STATE=$RUN_BASE/$NAME           # index, pidfile, config (small, runtime)
EXEC_ROOT=$STATE/exec           # dockerd --exec-root (its unix socket is here too)
DATA_ROOT=$DATA_BASE/$NAME      # dockerd --data-root, and its log
PIDFILE=$STATE/dockerd.pid
LOGFILE=$DATA_ROOT/dockerd.log
SOCKET=$EXEC_ROOT/docker.sock
CGROUP_PARENT=/$PREFIX-$NAME
COMMENT=$PREFIX:$NAME           # on every iptables rule this engine adds

# One start/stop at a time across all names, so the index allocation and the ip_forward
# bookkeeping stay consistent. The lock is taken on the /run/lock directory itself: no file is left.
LOCK_DIR=/run/lock
[ -d "$LOCK_DIR" ] || LOCK_DIR=/run
exec 9<"$LOCK_DIR"
flock -w 120 9 || die "another remote-engine start/stop held the lock on $LOCK_DIR for over 120 s"

# --- addresses -----------------------------------------------------------------------------------

index_of() { # the engine's index: kept in its state dir, else the lowest free one
  if [ -f "$STATE/index" ]; then cat "$STATE/index"; return; fi
  [ "$1" = allocate ] || return 1
  local used=" " i
  for f in "$RUN_BASE"/*/index; do [ -f "$f" ] && used+="$(cat "$f") "; done
  for ((i = 0; i < MAX_ENGINES; i++)); do
    if [[ "$used" != *" $i "* ]] && ! ip link show "$PREFIX$i" >/dev/null 2>&1; then
      mkdir -p "$STATE"
      echo "$i" >"$STATE/index"
      echo "$i"
      return
    fi
  done
  die "all $MAX_ENGINES remote engines are in use (ls $RUN_BASE)"
}

set_addresses() {
  IDX=$1
  VETH_HOST=$PREFIX$IDX          # e.g. prodlike-test0 (15 characters at most)
  VETH_PEER=${PREFIX}p$IDX       # renamed eth0 inside the namespace
  SUBNET=10.203.$IDX.0/24
  HOST_IP=10.203.$IDX.1
  NS_IP=10.203.$IDX.2
  # The engine's own bridge and networks: outside Docker's default pools (172.17-31.0.0/16,
  # 192.168.0.0/16), which the main engine allocates from.
  BIP=10.$((204 + IDX)).0.1/24
  POOL=base=10.$((204 + IDX)).128.0/17,size=24
  DOCKER_HOST_URL=tcp://$NS_IP:2375
}

# --- helpers -------------------------------------------------------------------------------------

dockerd_pid() { # the pid of this engine's dockerd if it runs (checked against its command line)
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--exec-root $EXEC_ROOT " || return 1
  echo "$pid"
}

engine_answers() { timeout 5 docker -H "unix://$SOCKET" info >/dev/null 2>&1 && timeout 5 docker -H "$DOCKER_HOST_URL" version >/dev/null 2>&1; }

ipt() { iptables -w 10 "$@"; }

ensure_rule() { # ensure_rule TABLE CHAIN RULE...: append unless an identical rule is there
  local table=$1 chain=$2
  shift 2
  ipt -t "$table" -C "$chain" "$@" -m comment --comment "$COMMENT" 2>/dev/null ||
    ipt -t "$table" -A "$chain" "$@" -m comment --comment "$COMMENT"
}

delete_rules() { # every rule in TABLE commented with this engine's comment
  local table=$1 rule
  # -S prints rules as they would be added; quoted comment included. Delete one at a time.
  while rule=$(ipt -t "$table" -S | grep -E -- "^-A .*--comment \"?$COMMENT\"?( |\$)" | head -n 1) && [ -n "$rule" ]; do
    eval "ipt -t $table -D ${rule#-A }" || { log "could not delete iptables rule: $rule"; return 1; }
  done
}

# The name servers containers should use: the host's, unless it only has loopback ones (systemd-resolved),
# then the upstream ones. Passed as --dns so dockerd never falls back to public resolvers.
upstream_dns() {
  local servers
  servers=$(awk '$1 == "nameserver" && $2 !~ /^(127\.|::1$)/ {print $2}' /etc/resolv.conf 2>/dev/null || true)
  if [ -z "$servers" ] && [ -f /run/systemd/resolve/resolv.conf ]; then
    servers=$(awk '$1 == "nameserver" && $2 !~ /^(127\.|::1$)/ {print $2}' /run/systemd/resolve/resolv.conf)
  fi
  echo "$servers"
}

cgroup_dirs() { # this engine's cgroup parent in every mounted hierarchy (v1 and v2)
  local d
  for d in /sys/fs/cgroup/*"$CGROUP_PARENT" /sys/fs/cgroup"$CGROUP_PARENT"; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

leftover_pids() { # processes in the namespace, or in the engine's cgroups (its containers)
  {
    [ -e "/var/run/netns/$NS" ] && ip netns pids "$NS" 2>/dev/null
    local d
    for d in $(cgroup_dirs); do find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done
  } | sort -un
}

our_mounts() { # mount points under this engine's dirs, deepest first
  awk '{print $5}' /proc/self/mountinfo | sed 's/\\040/ /g' |
    grep -E "^($DATA_ROOT|$STATE)(/|$)" | awk '{print length, $0}' | sort -rn | cut -d' ' -f2- || true
}

# --- commands ------------------------------------------------------------------------------------

start() {
  local idx
  mkdir -p "$RUN_BASE"
  idx=$(index_of allocate)
  set_addresses "$idx"

  local started=$SECONDS

  # Every step below is idempotent: a second start re-checks the network and returns at once when
  # the engine answers; a start after a crash (or a killed start) finishes what is missing.
  # Namespace and veth pair. `ip netns add` makes /var/run/netns a mount point if it was not one:
  # when this made it, the last stop unmounts and removes it again.
  if [ ! -d /var/run/netns ] && [ ! -f "$RUN_BASE/netns-dir-made" ]; then touch "$RUN_BASE/netns-dir-made"; fi
  [ -e "/var/run/netns/$NS" ] || ip netns add "$NS"
  ip -n "$NS" link set lo up
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip -n "$NS" link del eth0 2>/dev/null || true
    ip link add "$VETH_HOST" type veth peer name "$VETH_PEER"
    ip link set "$VETH_PEER" netns "$NS"
    ip -n "$NS" link set "$VETH_PEER" name eth0
  fi
  ip addr replace "$HOST_IP/24" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  ip -n "$NS" addr replace "$NS_IP/24" dev eth0
  ip -n "$NS" link set eth0 up
  ip -n "$NS" route replace default via "$HOST_IP"

  # NAT out of the namespace. FORWARD's policy is DROP where the main engine runs, so the
  # namespace's traffic is let through explicitly; nothing from outside may start a connection in.
  if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
    [ -f "$RUN_BASE/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$RUN_BASE/ip_forward.orig"
    echo 1 >/proc/sys/net/ipv4/ip_forward
  fi
  ensure_rule nat POSTROUTING -s "$SUBNET" ! -o "$VETH_HOST" -j MASQUERADE
  ensure_rule filter FORWARD -i "$VETH_HOST" ! -o "$VETH_HOST" -j ACCEPT
  ensure_rule filter FORWARD -o "$VETH_HOST" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  ensure_rule filter FORWARD -o "$VETH_HOST" -j DROP

  # DNS: the namespace shares the host's /etc/resolv.conf (nsenter, not ip netns exec), so its
  # name servers must be reachable from it: loopback ones are not.
  local dns dns_flags=() launched=""
  dns=$(upstream_dns)
  [ -n "$dns" ] || die "no non-loopback name server in /etc/resolv.conf (nor /run/systemd/resolve/resolv.conf): the engine's containers could not resolve names"
  for server in $dns; do dns_flags+=(--dns "$server"); done
  local probe=${PRODLIKE_REMOTE_ENGINE_DNS_PROBE:-deb.debian.org}
  if [ -n "$probe" ] && ! timeout 10 nsenter --net="/var/run/netns/$NS" getent hosts "$probe" >/dev/null; then
    die "inside namespace $NS, $probe does not resolve (name servers: $dns); run '$0 stop $NAME' to clean up"
  fi

  if dockerd_pid >/dev/null && engine_answers; then
    log "engine $NAME already running"
    echo "DOCKER_HOST=$DOCKER_HOST_URL"
    return
  fi

  # dockerd, with everything of its own: dirs, pidfile, config, sockets, bridge, cgroups.
  if ! dockerd_pid >/dev/null; then
    mkdir -p "$EXEC_ROOT" "$DATA_ROOT"
    echo '{}' >"$STATE/daemon.json" # never the host's /etc/docker/daemon.json
    rm -f "$PIDFILE" "$SOCKET"
    log "starting dockerd in namespace $NS ($DOCKER_HOST_URL; log $LOGFILE)"
    # nsenter --net only: `ip netns exec` remounts /sys, and dockerd then fails with
    # "Devices cgroup isn't mounted". setsid: the engine outlives this script and its caller's group
    # (-w: if setsid has to fork, it waits, so $! lives as long as dockerd).
    # 9<&-: dockerd must not inherit (and so hold forever) the lock.
    setsid -w nsenter --net="/var/run/netns/$NS" dockerd \
      --config-file "$STATE/daemon.json" \
      --data-root "$DATA_ROOT" \
      --exec-root "$EXEC_ROOT" \
      --pidfile "$PIDFILE" \
      -H "unix://$SOCKET" \
      -H "tcp://$NS_IP:2375" \
      --tls=false \
      --bip "$BIP" \
      --default-address-pool "$POOL" \
      --cgroup-parent "$CGROUP_PARENT" \
      --containerd-namespace "$PREFIX-$NAME" \
      --containerd-plugins-namespace "$PREFIX-$NAME-plugins" \
      "${dns_flags[@]}" \
      --label "$PREFIX=$NAME" \
      </dev/null >>"$LOGFILE" 2>&1 9<&- &
    launched=$!
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until engine_answers; do
    if [ $SECONDS -ge $deadline ]; then
      log "dockerd did not answer at $DOCKER_HOST_URL within ${START_TIMEOUT} s; last lines of $LOGFILE:"
      tail -n 30 "$LOGFILE" >&2 || true
      die "run '$0 stop $NAME' to clean up"
    fi
    if ! dockerd_pid >/dev/null && { [ $((SECONDS - started)) -ge 10 ] || { [ -n "$launched" ] && ! kill -0 "$launched" 2>/dev/null; }; }; then
      log "dockerd exited; last lines of $LOGFILE:"
      tail -n 30 "$LOGFILE" >&2 || true
      die "run '$0 stop $NAME' to clean up"
    fi
    sleep 0.5
  done
  log "engine $NAME up in $((SECONDS - started)) s: $(docker -H "$DOCKER_HOST_URL" version --format '{{.Server.Version}}')"
  echo "DOCKER_HOST=$DOCKER_HOST_URL"
}

stop() {
  local idx pid
  if ! idx=$(index_of lookup); then
    # No state: still clean what a crashed start may have left under this name.
    idx=""
  fi
  [ -n "$idx" ] && set_addresses "$idx"

  # 1. Containers first, through the engine itself (it unmounts and removes them properly).
  if pid=$(dockerd_pid); then
    local ids
    ids=$(timeout 15 docker -H "unix://$SOCKET" ps -aq 2>/dev/null || true)
    if [ -n "$ids" ]; then
      log "removing $(echo "$ids" | wc -l) container(s) of engine $NAME"
      # shellcheck disable=SC2086
      timeout 60 docker -H "unix://$SOCKET" rm -f -v $ids >/dev/null 2>&1 || log "some containers could not be removed by the engine; killing them"
    fi
    # 2. dockerd (it stops its containerd too).
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    if [ -d "/proc/$pid" ]; then
      log "dockerd $pid still runs after 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    fi
  fi

  # 3. Whatever still runs in the namespace or the engine's cgroups (shims, containers, proxies).
  local pids
  pids=$(leftover_pids)
  if [ -n "$pids" ]; then
    log "killing leftover processes: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 20); do [ -z "$(leftover_pids)" ] && break; sleep 0.5; done
  fi

  # 4. Mounts (overlay layers, container netns, shm) and the data.
  local mnt
  while IFS= read -r mnt; do
    [ -n "$mnt" ] || continue
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
  done < <(our_mounts)
  rm -rf "$DATA_ROOT" "$STATE"

  # 5. Cgroups, deepest first.
  local d
  for d in $(cgroup_dirs); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done

  # 6. iptables rules, veth, namespace.
  delete_rules nat
  delete_rules filter
  if [ -n "$idx" ] && ip link show "$VETH_HOST" >/dev/null 2>&1; then ip link del "$VETH_HOST"; fi
  if [ -e "/var/run/netns/$NS" ]; then ip netns del "$NS"; fi

  # 7. Shared bookkeeping, once the last engine is gone: ip_forward as it was, empty dirs.
  if ! compgen -G "$RUN_BASE/*/index" >/dev/null; then
    if [ -f "$RUN_BASE/ip_forward.orig" ]; then
      cat "$RUN_BASE/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
      rm -f "$RUN_BASE/ip_forward.orig"
    fi
    if [ -f "$RUN_BASE/netns-dir-made" ]; then
      if [ -d /var/run/netns ] && [ -z "$(ls -A /var/run/netns)" ]; then
        while mountpoint -q /var/run/netns; do umount /var/run/netns || break; done
        rmdir /var/run/netns 2>/dev/null || true
      fi
      rm -f "$RUN_BASE/netns-dir-made"
    fi
    rmdir "$DATA_BASE" 2>/dev/null || true
    rmdir "$RUN_BASE" 2>/dev/null || true
  fi

  # 8. Check: nothing of this engine may be left.
  local left=()
  [ -e "/var/run/netns/$NS" ] && left+=("namespace $NS")
  [ -n "$idx" ] && ip link show "$VETH_HOST" >/dev/null 2>&1 && left+=("link $VETH_HOST")
  { ipt -t nat -S; ipt -t filter -S; } | grep -qE -- "--comment \"?$COMMENT\"?( |\$)" && left+=("iptables rules $COMMENT")
  [ -e "$DATA_ROOT" ] && left+=("dir $DATA_ROOT")
  [ -e "$STATE" ] && left+=("dir $STATE")
  [ -n "$(cgroup_dirs)" ] && left+=("cgroups $(cgroup_dirs | tr '\n' ' ')")
  [ -n "$(our_mounts)" ] && left+=("mounts $(our_mounts | tr '\n' ' ')")
  if [ ${#left[@]} -gt 0 ]; then
    die "engine $NAME: left behind: ${left[*]}"
  fi
  log "engine $NAME stopped; nothing left"
}

env_cmd() {
  local idx
  idx=$(index_of lookup) || die "engine $NAME is not running (run: $0 start $NAME)"
  set_addresses "$idx"
  if ! { dockerd_pid >/dev/null && engine_answers; }; then
    die "engine $NAME is not answering at $DOCKER_HOST_URL (run: $0 start $NAME)"
  fi
  echo "DOCKER_HOST=$DOCKER_HOST_URL"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  env) env_cmd ;;
esac
