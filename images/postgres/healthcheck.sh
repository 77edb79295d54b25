#!/usr/bin/env bash
# Healthy once the real server accepts TCP connections (init never listens on TCP).
set -euo pipefail
exec pg_isready -q -h 127.0.0.1 -p 5432 -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" -t 2
