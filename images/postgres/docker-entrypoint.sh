#!/usr/bin/env bash
# Starts PostgreSQL 15. Initialises $PGDATA only when it holds no cluster, then execs the
# server as the postgres user. Extra arguments are passed to postgres (e.g. -c key=value).
set -euo pipefail

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export POSTGRES_USER POSTGRES_DB PGDATA

log() { echo "entrypoint: $*" >&2; }

if [[ "$(id -u)" == 0 ]]; then
  # A fresh or foreign volume: give it to postgres, then run this script again as postgres.
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups bash "$0" "$@"
fi

quote_ident() { printf '"%s"' "${1//\"/\"\"}"; }

init_cluster() {
  if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
    log "POSTGRES_PASSWORD is not set: set it to the password for user '$POSTGRES_USER'"
    exit 1
  fi
  log "initialising a new cluster in $PGDATA (user '$POSTGRES_USER', database '$POSTGRES_DB')"
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 --no-instructions >&2
  rm -f "$pwfile"

  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=postgres" \
    -keyout "$PGDATA/server.key" -out "$PGDATA/server.crt" 2>/dev/null
  chmod 600 "$PGDATA/server.key"

  cat >>"$PGDATA/postgresql.conf" <<CONF

# prodlike
listen_addresses = '*'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
log_destination = 'stderr'
logging_collector = off
CONF

  cat >"$PGDATA/pg_hba.conf" <<HBA
# TYPE    DATABASE  USER  ADDRESS      METHOD
local     all       all                trust
hostssl   all       all   0.0.0.0/0    scram-sha-256
hostssl   all       all   ::/0         scram-sha-256
host      all       all   0.0.0.0/0    scram-sha-256
host      all       all   ::/0         scram-sha-256
HBA

  # Single-user mode listens on no socket at all, so no client (nor the health check)
  # ever sees a half-initialised server.
  if [[ "$POSTGRES_DB" != postgres ]]; then
    echo "CREATE DATABASE $(quote_ident "$POSTGRES_DB");" |
      postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  log "initialisation done"
}

if [[ -s "$PGDATA/PG_VERSION" ]]; then
  log "existing cluster in $PGDATA (PostgreSQL $(cat "$PGDATA/PG_VERSION")), skipping init"
else
  init_cluster
fi

exec postgres -D "$PGDATA" "$@"
