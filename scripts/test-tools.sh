#!/usr/bin/env bash
# The tools the integration suite drives, installed from Debian when missing (idempotent; does
# nothing when all are there): Chromium for the browser tests, tmux for the Ctrl-C tests in a real
# terminal, python3 with venv for the pty tests and the host-side Cloudinary SDK, psql, iproute2 and
# iptables for the second engine in a network namespace. Not root or not Debian: it says what is
# missing, and the tests that need it fail with the same message.
set -euo pipefail

log() { printf '[test-tools] %s\n' "$*" >&2; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Debian keeps ensurepip (what `python3 -m venv` needs) in python3-venv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${missing[*]}. Install them (Debian: apt-get install -y ${missing[*]}); the tests that need them fail until then."
  exit 0
fi
log "installing from Debian: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
