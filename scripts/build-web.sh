#!/usr/bin/env bash
# Builds the web admin (web/ → web/dist, served by the gateway at /admin). Part of `npm run build`.
# web/ has its own package.json and lockfile; its dependencies are installed on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
