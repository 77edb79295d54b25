#!/usr/bin/env bash
# Healthy only when a query goes through PgBouncer to PostgreSQL and back.
set -euo pipefail
export PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=2 PGAPPNAME=healthcheck
out="$(psql -h 127.0.0.1 -p "${LISTEN_PORT:-6432}" -U "$DB_USER" -d "$DB_NAME" -XtAqc 'SELECT 1')"
[[ "$out" == 1 ]]
