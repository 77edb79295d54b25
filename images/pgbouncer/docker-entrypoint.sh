#!/usr/bin/env bash
# Writes pgbouncer.ini, userlist.txt and a self-signed client-side TLS certificate from the
# environment, then execs pgbouncer in the foreground (SIGTERM = immediate shutdown).
set -euo pipefail

log() { echo "entrypoint: $*" >&2; }
fail() { log "$*"; exit 1; }

for name in DB_HOST DB_USER DB_PASSWORD DB_NAME; do
  what="${name#DB_}"
  [[ -n "${!name:-}" ]] || fail "$name is not set: set it to the PostgreSQL server's ${what,,}"
done
: "${DB_PORT:=5432}" "${POOL_MODE:=transaction}" "${MAX_CLIENT_CONN:=100}"
: "${DEFAULT_POOL_SIZE:=20}" "${CLIENT_IDLE_TIMEOUT:=0}" "${SERVER_IDLE_TIMEOUT:=600}"
: "${QUERY_WAIT_TIMEOUT:=120}" "${LISTEN_PORT:=6432}"

[[ "$POOL_MODE" =~ ^(session|transaction|statement)$ ]] ||
  fail "POOL_MODE is '$POOL_MODE': use session, transaction or statement"
for name in DB_PORT MAX_CLIENT_CONN DEFAULT_POOL_SIZE CLIENT_IDLE_TIMEOUT SERVER_IDLE_TIMEOUT \
  QUERY_WAIT_TIMEOUT LISTEN_PORT; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || fail "$name is '${!name}': use a whole number"
done
# These go unquoted into pgbouncer.ini and its connection strings.
for name in DB_HOST DB_NAME; do
  [[ "${!name}" =~ ^[A-Za-z0-9_.-]+$ ]] ||
    fail "$name is '${!name}': use only letters, digits, '_', '.' and '-'"
done

conf=/etc/pgbouncer
umask 077

# userlist.txt: "user" "password", a double quote doubled.
printf '"%s" "%s"\n' "${DB_USER//\"/\"\"}" "${DB_PASSWORD//\"/\"\"}" >"$conf/userlist.txt"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=pgbouncer" -keyout "$conf/client.key" -out "$conf/client.crt" 2>/dev/null

cat >"$conf/pgbouncer.ini" <<INI
[databases]
$DB_NAME = host=$DB_HOST port=$DB_PORT dbname=$DB_NAME
* = host=$DB_HOST port=$DB_PORT

[pgbouncer]
listen_addr = *
listen_port = $LISTEN_PORT
unix_socket_dir = /tmp

auth_type = scram-sha-256
auth_file = $conf/userlist.txt
admin_users = $DB_USER
stats_users = $DB_USER

pool_mode = $POOL_MODE
max_client_conn = $MAX_CLIENT_CONN
default_pool_size = $DEFAULT_POOL_SIZE
client_idle_timeout = $CLIENT_IDLE_TIMEOUT
server_idle_timeout = $SERVER_IDLE_TIMEOUT
query_wait_timeout = $QUERY_WAIT_TIMEOUT
ignore_startup_parameters = extra_float_digits

client_tls_sslmode = allow
client_tls_key_file = $conf/client.key
client_tls_cert_file = $conf/client.crt
# Only for client certificates, which are never requested; without it 1.18 fails to load
# the system CA bundle (no ca-certificates here) and refuses to start.
client_tls_ca_file = $conf/client.crt
server_tls_sslmode = disable

logfile =
syslog = 0
log_connections = 1
log_disconnections = 1
log_pooler_errors = 1
INI

log "pgbouncer :$LISTEN_PORT -> $DB_HOST:$DB_PORT/$DB_NAME as $DB_USER ($POOL_MODE mode)"
# PgBouncer logs to stderr; the brief for prodlike wants its log on stdout.
exec pgbouncer "$conf/pgbouncer.ini" "$@" 2>&1
