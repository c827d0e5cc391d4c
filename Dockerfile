# Codex Gateway image: one image for every role (`all`, `serve`, `worker`, `migrate`).
# Built and smoke-tested in CI by scripts/docker-smoke.sh; docs/deploy.md says what is checked and how.
# Works with BuildKit and with the classic builder (no BuildKit-only syntax).

# ---- build: all dependencies except optional ones, Prisma client generated, TypeScript compiled ----
# --omit=optional keeps the 400 MB platform binary of the dev-only Codex CLI (and other native extras) out of
# even the build stage; nothing in `npm run build` needs them.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=optional
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY src ./src
# `npm run build:server` = prisma generate (no engine binary needed: PRISMA_SCHEMA_ENGINE_BINARY, see package.json)
# + tsc; the web admin is built in its own stage below.
RUN npm run build:server

# ---- deps: production dependencies only, then files no program reads ----
# --omit=peer: @prisma/client declares the Prisma CLI (and through it TypeScript, pglite, Studio) as a peer;
# npm would install ~300 MB of CLI tooling into production otherwise. Every peer the app really needs is a
# direct dependency in package.json. clean-modules drops docs, tests, type declarations and source maps, and
# the Prisma query compilers for databases other than PostgreSQL.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=peer --omit=optional --no-audit --no-fund --ignore-scripts \
 && npx --yes clean-modules@4.0.0 --yes --silent \
      '**/@types/**' '*.d.ts' '*.d.mts' '*.d.cts' '*.map' \
      '@prisma/client/runtime/query_compiler_*' '!@prisma/client/runtime/query_compiler_small_bg.postgresql.*' \
      '@prisma/client/runtime/wasm-compiler-edge.*' \
 && rm -rf /root/.npm /root/.cache

# ---- web: the web admin (web/), built only when the context has web/package.json ----
# `we[b]` is a glob, so both builders accept a context without web/ (then only .dockerignore is copied).
FROM node:24-bookworm-slim AS web
WORKDIR /app/web
COPY .dockerignore we[b]/package*.json ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund; fi
COPY .dockerignore we[b] ./
RUN if [ -f package.json ]; then npm run build; fi && mkdir -p dist

# ---- runtime: Node, tini, production node_modules, compiled code, SQL migrations, web admin ----
FROM node:24-bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="codex-gateway" \
      org.opencontainers.image.description="Self-hosted gateway that turns a team's ChatGPT/Codex subscriptions into a standard OpenAI API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
# tini as PID 1: forwards SIGTERM to node (which drains streams) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
# Memory (docs/bench.md, measured): V8 sizes its young generation and its old-space limit from the machine's
# memory, not the container's — up to 64 MiB semi-spaces and a 4 GiB old space on a big node, so garbage waits and
# is resident. 8 MiB semi-spaces cost no measurable throughput; a 512 MiB old space took RSS after a load phase
# from ~370 to ~210 MiB and still holds 5,000 concurrent streams (256 MiB did not: GC thrash). Two malloc arenas
# keep glibc from holding a 64 MiB arena per thread.
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=512" \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
COPY --from=web /app/web/dist ./web/dist
# Nothing is written at run time: the files stay root-owned and read-only to the app user, so the container
# also runs with a read-only root filesystem (docker run --read-only; readOnlyRootFilesystem in the chart).
USER node
EXPOSE 8080
# /healthz for `all`/`serve`; the `worker` role serves only /metrics (compose and the chart override the check).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/main.js"]
CMD ["all"]
