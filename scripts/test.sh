#!/usr/bin/env bash
# The test command (`npm test`): unit and e2e tests against the local Postgres and Redis.
# Runs under Node 24 (scripts/node24.sh puts it on PATH); installs dependencies and generates the Prisma
# client when missing so a fresh clone needs nothing else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# The shutdown test runs the built entry point (node dist/main.js): build when dist is missing or stale.
if [ ! -f dist/main.js ] || [ ! -f web/dist/index.html ] ||
  [ -n "$(find src prisma web/src web/index.html web/package-lock.json -newer dist/main.js -type f -print -quit)" ]; then
  npm run --silent build >/dev/null
fi
export NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}"
exec npx jest "$@"
