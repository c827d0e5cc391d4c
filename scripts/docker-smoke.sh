#!/usr/bin/env bash
# Builds the image and smoke-tests it for real (CI runs this through scripts/ci-deploy.sh):
#   dockerd (started if needed) -> base image (pulled, else the CI stand-in: scripts/docker-base.sh) ->
#   docker build -> size and content checks -> `migrate` on a scratch database (twice: second is a no-op) ->
#   test/deploy/docker-smoke.ts runs `all` and drives readiness, admin sign-in, account import, SDK chat,
#   a streamed response and a SIGTERM drain.
# Needs the local Postgres (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) and the project's
# node_modules (npm ci) for the driver. Exits non-zero on any miss. Env: IMAGE (default codex-gateway:ci).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
IMAGE="${IMAGE:-codex-gateway:ci}"
MAX_IMAGE_MB="${MAX_IMAGE_MB:-350}"
MAX_MODULES_MB="${MAX_MODULES_MB:-100}"
t0=$(date +%s)
say() { echo "[docker-smoke +$(($(date +%s) - t0))s] $*"; }
fail() { echo "[docker-smoke] FAIL: $*" >&2; exit 1; }

scripts/dockerd-up.sh
scripts/docker-base.sh

# BuildKit when the client has it (buildx, or a pre-23 client with it built in), else the classic builder;
# the Dockerfile works with both.
build=(docker build)
if docker buildx version >/dev/null 2>&1; then
  build=(docker buildx build --load)
elif [ -x /usr/bin/docker ] && /usr/bin/docker version -f '{{.Client.Version}}' 2>/dev/null | grep -qE '^(19|20|21|22)\.'; then
  build=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
fi
say "building $IMAGE with: ${build[*]}"
version="$(node -p "require('./package.json').version")"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
"${build[@]}" --network host -t "$IMAGE" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" . >/tmp/cg-docker-build.log 2>&1 ||
  { tail -40 /tmp/cg-docker-build.log; fail "docker build"; }
say "built"

# ---- what is in the image ----
image_mb=$(( $(docker image inspect -f '{{.Size}}' "$IMAGE") / 1000000 ))
modules_mb=$(docker run --rm --network none --entrypoint du "$IMAGE" -sm /app/node_modules | cut -f1)
echo "image size: ${image_mb} MB (limit ${MAX_IMAGE_MB})"
echo "runtime node_modules: ${modules_mb} MiB (limit ${MAX_MODULES_MB})"
[ "$image_mb" -le "$MAX_IMAGE_MB" ] || fail "image is ${image_mb} MB"
[ "$modules_mb" -le "$MAX_MODULES_MB" ] || fail "runtime node_modules is ${modules_mb} MiB"
present="$(docker run --rm --network none --entrypoint sh "$IMAGE" -c 'cd /app/node_modules && for p in "$@"; do
  [ -e "$p" ] && echo "$p"; done; true' sh prisma typescript @prisma/studio-core @prisma/dev @electric-sql/pglite \
  @openai/codex @openai/codex-linux-x64 playwright-core jest eslint @swc/core openai autocannon)"
[ -z "$present" ] || fail "dev/CLI packages in the runtime image: $present"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = node ] || fail "image does not run as user node"
[ "$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$IMAGE")" = "$revision" ] ||
  fail "OCI revision label missing"
docker image inspect -f '{{.Config.Healthcheck.Test}}' "$IMAGE" | grep -q healthz || fail "no HEALTHCHECK"
say "content checks passed (no dev packages, user node, OCI labels, HEALTHCHECK)"

# ---- migrate, then the driver ----
db="cg_docker_smoke_$$"
export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$db"
export REDIS_URL="redis://127.0.0.1:6379"
export REDIS_KEY_PREFIX="cgsmoke$$:"
cleanup() {
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
    xargs -r -n 500 redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
}
trap cleanup EXIT
key="$(openssl rand -base64 32)"
for run in 1 2; do
  docker run --rm --network host --read-only -e DATABASE_URL -e ENCRYPTION_KEY="$key" "$IMAGE" migrate \
    >/tmp/cg-docker-migrate.log 2>&1 || { cat /tmp/cg-docker-migrate.log; fail "migrate (run $run)"; }
done
grep -q "up to date" /tmp/cg-docker-migrate.log || fail "second migrate was not a no-op"
say "migrate ran (second run: up to date)"

IMAGE="$IMAGE" scripts/node24.sh node --no-warnings --experimental-strip-types test/deploy/docker-smoke.ts
say "docker smoke passed: image ${image_mb} MB, runtime node_modules ${modules_mb} MiB"
