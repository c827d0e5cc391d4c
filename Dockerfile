# syntax=docker/dockerfile:1
# Codex Gateway image: one image for every role (`all`, `serve`, `worker`, `migrate`).
# Not built on the development machine (no Docker engine there): see docs/deploy.md for what was validated.

# ---- build: install everything, generate the Prisma client, compile TypeScript, build the web admin ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY src ./src
# The web admin (its own package.json/lockfile; built into web/dist by `npm run build`).
COPY scripts/build-web.sh ./scripts/
COPY web/package.json web/package-lock.json ./web/
RUN npm --prefix web ci --no-audit --no-fund
COPY web ./web
# prisma generate needs no engine binary; the CLI only wants a path to exist (DESIGN.md §4).
RUN npm run build && npm prune --omit=dev

# ---- runtime: production dependencies, compiled code and the SQL migrations only ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/web/dist ./web/dist
COPY --from=build --chown=node:node /app/prisma/migrations ./prisma/migrations
USER node
EXPOSE 8080
# node as PID 1 handles SIGTERM itself (main.ts stops accepting, drains, closes connections);
# run with `docker run --init` (or compose `init: true`) to also reap zombies.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
