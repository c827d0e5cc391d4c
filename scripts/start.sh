#!/usr/bin/env bash
# `npm start`: install, build, migrate and run the gateway (API + worker in one process) on this machine.
# Needs Postgres and Redis (defaults: 127.0.0.1:5432 as postgres, 127.0.0.1:6379); see README for settings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
if [ ! -f dist/main.js ] || [ ! -f web/dist/index.html ] ||
  [ -n "$(find src prisma web/src web/index.html web/package-lock.json -newer dist/main.js -type f -print -quit)" ]; then
  npm run --silent build
fi
# The image's V8 and malloc settings (Dockerfile, docs/bench.md), unless set already.
export NODE_OPTIONS="${NODE_OPTIONS:---max-semi-space-size=8 --max-old-space-size=512}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
node dist/main.js migrate
exec node dist/main.js "${@:-all}"
