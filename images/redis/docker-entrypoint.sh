#!/usr/bin/env bash
# Writes redis.conf from the environment and execs redis-server in the foreground.
# Extra arguments are passed on (e.g. --appendonly yes), overriding the file.
set -euo pipefail

conf=/tmp/redis.conf
umask 077
{
  echo 'bind 0.0.0.0'
  echo 'protected-mode no'
  echo 'port 6379'
  echo 'daemonize no'
  echo 'logfile ""'
  echo 'dir /data'
  echo 'appendonly no'
  echo 'save ""'
  if [[ -n "${REDIS_PASSWORD:-}" ]]; then
    # Redis config strings: double-quoted, backslash and quote escaped. Kept out of argv.
    pw="${REDIS_PASSWORD//\\/\\\\}"
    echo "requirepass \"${pw//\"/\\\"}\""
  fi
} >"$conf"

echo "entrypoint: redis on :6379, password $([[ -n "${REDIS_PASSWORD:-}" ]] && echo required || echo off)" >&2
exec redis-server "$conf" "$@"
