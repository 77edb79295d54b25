#!/usr/bin/env bash
# Healthy when redis answers PING (authenticated when a password is set).
set -euo pipefail
if [[ -n "${REDIS_PASSWORD:-}" ]]; then export REDISCLI_AUTH="$REDIS_PASSWORD"; fi
[[ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" == PONG ]]
