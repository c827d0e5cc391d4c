import 'reflect-metadata';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load-config.js';
import { ConfigError, type AppConfig } from './config/config.schema.js';
import { closeGracefully, createApp } from './bootstrap.js';
import { ensureDatabase, migrate, MigrationError } from './prisma/migrator.js';
import type { Role } from './app.module.js';
import type { Logger } from 'pino';
import { createLogger, PinoNestLogger, wantsPrettyLogs } from './common/logger.js';
import { PrismaService } from './prisma/prisma.service.js';
import { TokenRefreshService } from './accounts/token-refresh.service.js';
import { waitForDependencies } from './startup/preflight.js';
import { describeTarget } from './common/target.js';
import { watchPostgres } from './startup/postgres-watch.js';
import { gatherBannerFacts, renderBanner } from './startup/banner.js';
import { reportProblems, reportWaiting } from './startup/report.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'prisma', 'migrations');

const USAGE = `Usage: node dist/main.js <command>

Commands:
  all        HTTP API and background worker in one process (default)
  serve      HTTP API only
  worker     background jobs only (token refresh, device-code polling)
  migrate    apply database migrations, then exit
  auth login [--device] [--no-browser] [--port N]
             log a ChatGPT/Codex subscription account in (PKCE on 127.0.0.1:1455, or device code)
  auth status [--json]
             list every account: email, plan, status, token expiry, last refresh, usage-limit state
  accounts reencrypt
             re-encrypt stored tokens with the current ENCRYPTION_KEY (after rotation)
  help       this text
`;

/** Thrown when the start-up checks failed and were reported; main() turns it into exit code 3. */
class StartupProblem extends Error {}

/**
 * Postgres (and Redis for the roles that use it) must answer before anything else starts. Outside production a
 * failure is reported in plain words and the process exits; in production it waits with backoff instead.
 */
async function checkDependencies(config: AppConfig, command: string, logger: Logger, pretty: boolean) {
  const isMigrate = command === 'migrate';
  const problems = await waitForDependencies(
    {
      databaseUrl: config.DATABASE_URL,
      // migrate touches only Postgres: a migration job must not wait for Redis.
      redisUrl: isMigrate ? undefined : config.REDIS_URL,
      missingDatabaseOk: isMigrate,
      requireSchema: !isMigrate,
      timeoutMs: 3000,
    },
    {
      retry: config.NODE_ENV === 'production',
      onAttempt: (p, attempt, delay) => reportWaiting(p, attempt, delay, logger),
    },
  );
  if (problems.length) {
    reportProblems(problems, logger, pretty);
    logger.flush();
    throw new StartupProblem();
  }
}

async function runMigrate(config: AppConfig): Promise<void> {
  if (await ensureDatabase(config.DATABASE_URL)) console.error('created database');
  const r = await migrate(config.DATABASE_URL, MIGRATIONS_DIR, (m) => console.error(m));
  console.error(
    r.applied.length
      ? `applied ${r.applied.length} migration(s): ${r.applied.join(', ')}`
      : 'database is up to date',
  );
}

async function runRole(config: AppConfig, role: Role, logger: Logger, pretty: boolean): Promise<void> {
  const { app } = await createApp(config, { role, logger });
  let stopping = false;
  let stopWatching = () => {};
  const stop = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C means "now": skip the drain.
      logger.warn({ signal }, 'second signal, exiting without waiting');
      logger.flush();
      process.exit(130);
    }
    stopping = true;
    stopWatching();
    logger.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down');
    const force = setTimeout(() => {
      logger.warn('grace period over, exiting with requests still in flight');
      logger.flush();
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    force.unref();
    try {
      // Stops accepting, waits for in-flight requests and streams (none: returns at once), then closes Prisma,
      // Redis and BullMQ.
      await closeGracefully(app);
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'error while shutting down');
      logger.flush();
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const prisma = app.get(PrismaService);
  // Accounts sealed with a key this deployment lacks are named now, not when traffic first reaches them.
  void app
    .get(TokenRefreshService)
    .reportUndecryptable()
    .catch((err: Error) =>
      logger.debug({ err: err.message }, 'could not check the accounts for undecryptable credentials'),
    );
  const nestLogger = new PinoNestLogger(logger.child({ name: 'nest' }));
  if (role === 'worker') {
    // The worker has no API routes; it listens only so Prometheus can scrape its GET /metrics (refresh
    // outcomes, process health) and alert when it is down.
    await app.listen(config.PORT, config.HOST);
    logger.info({ role, port: config.PORT }, 'worker started (serving /metrics only)');
  } else {
    await app.listen(config.PORT, config.HOST);
    logger.info({ role, port: boundPort(app) ?? config.PORT, publicUrl: config.PUBLIC_URL }, 'listening');
    // PUBLIC_URL defaults to http://localhost:PORT; with PORT=0 only the bound port is meaningful.
    const publicUrl = process.env.PUBLIC_URL
      ? config.PUBLIC_URL
      : `http://localhost:${boundPort(app) ?? config.PORT}`;
    if (pretty) await printBanner({ ...config, PUBLIC_URL: publicUrl }, prisma, logger);
  }
  stopWatching = watchPostgres(() => prisma.ping(), describeTarget(config.DATABASE_URL, 5432), nestLogger);
}

function boundPort(app: { getHttpServer(): { address(): unknown } }): number | undefined {
  const a = app.getHttpServer().address();
  return a && typeof a === 'object' && 'port' in a ? (a as { port: number }).port : undefined;
}

/** Terminal only: where the admin, the API, the docs and the metrics are, and how many accounts are healthy. */
async function printBanner(config: AppConfig, prisma: PrismaService, logger: Logger): Promise<void> {
  try {
    const facts = await gatherBannerFacts(config, {
      countAccounts: (where) => prisma.account.count({ where }),
      countAdmins: () => prisma.user.count({ where: { role: 'admin', disabled: false } }),
    });
    logger.flush();
    process.stdout.write(renderBanner(facts) + '\n');
  } catch (err) {
    logger.debug({ err: (err as Error).message }, 'start-up banner skipped');
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'all', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const pretty = wantsPrettyLogs(config.NODE_ENV);
  switch (command) {
    case 'migrate':
      try {
        await checkDependencies(
          config,
          command,
          createLogger(config.LOG_LEVEL, undefined, { pretty }),
          pretty,
        );
      } catch (err) {
        if (err instanceof StartupProblem) return 3;
        throw err;
      }
      await runMigrate(config);
      return 0;
    case 'serve':
    case 'worker':
    case 'all': {
      const logger = createLogger(config.LOG_LEVEL, undefined, { pretty });
      try {
        await checkDependencies(config, command, logger, pretty);
      } catch (err) {
        if (err instanceof StartupProblem) return 3;
        throw err;
      }
      await runRole(config, command, logger, pretty);
      return -1; // keeps running
    }
    default: {
      const cli = await import('./cli/cli.js');
      return cli.runCli(config, command, rest, USAGE);
    }
  }
}

const isEntry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      if (err instanceof MigrationError) console.error(`migrate: ${err.message}`);
      else console.error(err);
      process.exit(1);
    },
  );
}
