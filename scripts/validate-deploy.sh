#!/usr/bin/env bash
# Static checks of every deployment file, with the real tools (installed by scripts/deploy-tools.sh):
#   compose    Debian's docker-compose `config` with a .env made from .env.example; refused without secrets
#   prometheus promtool check config / check rules / test rules (unit tests of every alert)
#   grafana    the committed dashboards are what deploy/grafana/build-dashboards.mjs generates
#   helm       helm lint --strict and helm template (defaults, ci/production-values.yaml, values-ha.yaml), every rendered
#              manifest validated against the Kubernetes API schemas (test/deploy/validate-manifests.ts),
#              and the validator shown to reject a broken manifest
# Part of scripts/ci-deploy.sh; runs alone in ~1 minute. Exits non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PATH="$(scripts/deploy-tools.sh):$PATH"
export PATH
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
say() { echo "[validate-deploy +$(($(date +%s) - t0))s] $*"; }
node24() { scripts/node24.sh node --no-warnings --experimental-strip-types "$@"; }

say "compose: docker-compose config"
sed -e 's/^ENCRYPTION_KEY=$/ENCRYPTION_KEY=ci-placeholder/' -e 's/^POSTGRES_PASSWORD=$/POSTGRES_PASSWORD=ci/' \
  -e 's/^GRAFANA_ADMIN_PASSWORD=$/GRAFANA_ADMIN_PASSWORD=ci/' .env.example >"$tmp/env"
docker-compose --env-file "$tmp/env" config -q
docker-compose --env-file "$tmp/env" config --services | sort | tr '\n' ' ' | tee "$tmp/services"
echo
[ "$(cat "$tmp/services")" = "api grafana migrate postgres prometheus redis worker " ]
: >"$tmp/empty.env"
if docker-compose --env-file "$tmp/empty.env" config -q 2>"$tmp/err"; then
  echo "compose accepted a stack without secrets" >&2
  exit 1
fi
grep -q "set .* in .env" "$tmp/err"
say "compose ok (and refused without the required secrets)"

say "promtool"
sed -e "s#/prometheus/metrics_token#$tmp/metrics_token#" \
  -e "s#/etc/prometheus/rules/#$root/helm/codex-gateway/rules/#" deploy/prometheus/prometheus.yml >"$tmp/prometheus.yml"
: >"$tmp/metrics_token"
promtool check config "$tmp/prometheus.yml"
promtool check rules helm/codex-gateway/rules/codex-gateway.rules.yml
promtool test rules deploy/prometheus/tests/codex-gateway.rules.test.yml

say "grafana dashboards up to date with their generator"
scripts/node24.sh node deploy/grafana/build-dashboards.mjs --check

say "helm lint + template + schema validation"
chart=helm/codex-gateway
secrets=(--set secrets.ENCRYPTION_KEY=ci --set secrets.DATABASE_URL=postgresql://u@db/cg --set secrets.REDIS_URL=redis://redis:6379)
helm lint --strict "$chart" "${secrets[@]}"
helm lint --strict "$chart" -f "$chart/ci/production-values.yaml"
helm lint --strict "$chart" -f "$chart/values-ha.yaml"
helm template cg "$chart" "${secrets[@]}" >"$tmp/default.yaml"
helm template cg "$chart" --namespace ai -f "$chart/ci/production-values.yaml" >"$tmp/production.yaml"
helm template cg "$chart" --namespace ai -f "$chart/values-ha.yaml" >"$tmp/ha.yaml"
node24 test/deploy/validate-manifests.ts "$tmp/default.yaml" "$tmp/production.yaml" "$tmp/ha.yaml"
# the HA example is what it says: 3 API replicas, 2 workers, Sentinel, the CA mounted in every gateway pod and
# the migrate Job on the direct connection (not PgBouncer)
node24 test/deploy/check-ha-values.ts "$tmp/ha.yaml"
# the chart refuses what would break streams or lose data
if helm template cg "$chart" "${secrets[@]}" --set-string config.SHUTDOWN_GRACE_MS=300000 >/dev/null 2>&1; then
  echo "chart rendered with a grace period shorter than the drain" >&2
  exit 1
fi
if helm template cg "$chart" --set secrets.DATABASE_URL=x >/dev/null 2>&1; then
  echo "chart rendered without ENCRYPTION_KEY" >&2
  exit 1
fi
# the validator can fail: a Deployment without containers and a Service with a string port are rejected
cat >"$tmp/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: { name: broken }
spec:
  selector: { matchLabels: { a: b } }
  template: { metadata: { labels: { a: b } }, spec: {} }
---
apiVersion: v1
kind: Service
metadata: { name: broken }
spec: { ports: [{ port: eighty }] }
YAML
if node24 test/deploy/validate-manifests.ts "$tmp/broken.yaml" >"$tmp/broken.out"; then
  echo "validator accepted broken manifests" >&2
  exit 1
fi
grep -c '^FAIL' "$tmp/broken.out" | grep -qx 2
say "validate-deploy passed"
