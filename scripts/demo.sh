#!/usr/bin/env bash
# The README's demo: a fresh machine to the bundled example app running as on Render.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
exec node bin/prodlike.js up "${1:-fixtures/render-supabase}" "${@:2}"
