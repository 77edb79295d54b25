#!/usr/bin/env bash
# nginx as a TLS-terminating reverse proxy on :8443 to $UPSTREAM (host:port), keep-alive on
# both sides, no access log (the prodlike front logs nothing in the bench either). The
# certificate and key come in $CERT_PEM / $KEY_PEM; $WORKERS nginx workers (default 1, like
# the one event loop of the prodlike front).
set -euo pipefail
: "${UPSTREAM:?set UPSTREAM to the app host:port}" "${CERT_PEM:?}" "${KEY_PEM:?}" "${WORKERS:=1}"
umask 077
printf '%s\n' "$CERT_PEM" >/etc/nginx/bench.crt
printf '%s\n' "$KEY_PEM" >/etc/nginx/bench.key
cat >/etc/nginx/bench.conf <<CONF
worker_processes $WORKERS;
error_log stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server $UPSTREAM; keepalive 32; }
  server {
    listen 8443 ssl;
    ssl_certificate /etc/nginx/bench.crt;
    ssl_certificate_key /etc/nginx/bench.key;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
CONF
exec nginx -c /etc/nginx/bench.conf -g 'daemon off;'
