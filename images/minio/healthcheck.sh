#!/usr/bin/env bash
# Healthy when GET /minio/health/live answers 200 (raw HTTP over bash's /dev/tcp, no curl).
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/9000
printf 'GET /minio/health/live HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nConnection: close\r\n\r\n' >&3
IFS=' ' read -r _ status _ <&3
[[ "$status" == 200 ]]
