import { Redis } from 'ioredis';
import pg from 'pg';
import { describeTarget } from '../common/target.js';

export { describeTarget };

/**
 * Start-up checks: before Nest is built, each role tries Postgres and Redis once with a short timeout, so a
 * missing service ends in one plain sentence (what was tried, which setting controls it, how to fix it)
 * instead of a driver stack trace or a stream of reconnect errors. In production the caller retries instead.
 */

export type Dependency = 'postgres' | 'redis';

export interface Problem {
  dependency: Dependency;
  /** The setting that controls the target (DATABASE_URL / REDIS_URL). */
  setting: 'DATABASE_URL' | 'REDIS_URL';
  /** host:port (and database name for Postgres) — never the user or password. */
  target: string;
  /** One short sentence: what went wrong. */
  message: string;
  /** Plain-text lines with what to do about it. */
  fix: string[];
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);

function isLocal(url: string): boolean {
  try {
    return LOCAL_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return '';
  }
}

/** The errno-ish code of a network/driver error, also when nested (AggregateError of IPv4/IPv6 attempts). */
function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (codeOf(inner)) return codeOf(inner);
  return undefined;
}

function reason(err: unknown): string {
  switch (codeOf(err)) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'TIMEOUT':
      return 'no answer in time';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default: {
      const msg = (err as Error)?.message ?? String(err);
      return msg.split('\n')[0].slice(0, 200);
    }
  }
}

const START_POSTGRES = [
  'Start PostgreSQL:',
  '  Debian/Ubuntu: sudo systemctl start postgresql',
  '  macOS:         brew services start postgresql@15',
  '  Docker:        docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15',
  '  (or run the whole stack in containers: docker compose up)',
];
const START_REDIS = [
  'Start Redis:',
  '  Debian/Ubuntu: sudo systemctl start redis-server',
  '  macOS:         brew services start redis',
  '  Docker:        docker run -d -p 6379:6379 redis:7',
  '  (or run the whole stack in containers: docker compose up)',
];

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'TIMEOUT' }));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface PostgresCheckOptions {
  timeoutMs?: number;
  /** `migrate` creates a missing database itself, so it is not a problem there. */
  missingDatabaseOk?: boolean;
  /** Serving needs the schema; `migrate` is what creates it. */
  requireSchema?: boolean;
}

/** Connects once with `pg` and runs a trivial query. Undefined when all is well. */
export async function checkPostgres(
  url: string,
  opts: PostgresCheckOptions = {},
): Promise<Problem | undefined> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const target = describeTarget(url, 5432, true);
  const base = { dependency: 'postgres' as const, setting: 'DATABASE_URL' as const, target };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // a late socket error after a failed connect must not crash the process
  try {
    await withTimeout(client.connect(), timeoutMs + 500, () => void client.end().catch(() => {}));
    if (opts.requireSchema) {
      const { rows } = await client.query<{ t: string | null }>(
        `SELECT to_regclass('"_prisma_migrations"')::text AS t`,
      );
      if (!rows[0]?.t)
        return {
          ...base,
          message: `database ${databaseName(url)} at ${target} has no tables yet (migrations never ran)`,
          fix: ['Apply the migrations: node dist/main.js migrate   (npm start does this for you)'],
        };
    }
    return undefined;
  } catch (err) {
    const code = codeOf(err);
    if (code === '3D000') {
      if (opts.missingDatabaseOk) return undefined;
      return {
        ...base,
        message: `database ${databaseName(url)} does not exist on ${describeTarget(url, 5432)}`,
        fix: [
          'Create it and apply the migrations: node dist/main.js migrate   (npm start does this for you)',
          'or point DATABASE_URL at an existing database.',
        ],
      };
    }
    if (code === '28P01' || code === '28000')
      return {
        ...base,
        message: `PostgreSQL at ${describeTarget(url, 5432)} refused the user or password in DATABASE_URL`,
        fix: ['Check the user name and password in DATABASE_URL (and pg_hba.conf on the server).'],
      };
    const where = isLocal(url)
      ? START_POSTGRES
      : [`Check that PostgreSQL runs on ${describeTarget(url, 5432)} and this machine can reach it.`];
    return {
      ...base,
      message: `cannot reach PostgreSQL at ${describeTarget(url, 5432)}: ${reason(err)}`,
      fix: [
        ...where,
        'or set DATABASE_URL to your server, e.g. postgresql://user:password@host:5432/codex_gateway',
      ],
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Sends one PING with its own short-lived ioredis client (no retries, no reconnects). */
export async function checkRedis(
  url: string,
  opts: { timeoutMs?: number } = {},
): Promise<Problem | undefined> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const target = describeTarget(url, 6379);
  const base = { dependency: 'redis' as const, setting: 'REDIS_URL' as const, target };
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectionName: 'codex-gateway:preflight',
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the cause arrives as an 'error' event.
  let cause: unknown;
  client.on('error', (err) => (cause ??= err));
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      timeoutMs + 500,
      () => client.disconnect(),
    );
    return undefined;
  } catch (thrown) {
    const err = cause ?? thrown;
    const msg = `${(err as Error)?.message ?? ''} ${(thrown as Error)?.message ?? ''}`;
    if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(msg))
      return {
        ...base,
        message: `Redis at ${target} refused the credentials in REDIS_URL`,
        fix: ['Check the user name and password in REDIS_URL (redis://user:password@host:6379).'],
      };
    const where = isLocal(url)
      ? START_REDIS
      : [`Check that Redis runs on ${target} and this machine can reach it.`];
    return {
      ...base,
      message: `cannot reach Redis at ${target}: ${reason(err)}`,
      fix: [...where, 'or set REDIS_URL to your server, e.g. redis://host:6379'],
    };
  } finally {
    client.disconnect();
  }
}

export interface PreflightTargets {
  databaseUrl: string;
  /** Omitted when the command does not use Redis (migrate). */
  redisUrl?: string;
  timeoutMs?: number;
  missingDatabaseOk?: boolean;
  requireSchema?: boolean;
}

/** Both checks in parallel; the list of problems (empty when everything answers). */
export async function preflight(t: PreflightTargets): Promise<Problem[]> {
  const checks = [
    checkPostgres(t.databaseUrl, {
      timeoutMs: t.timeoutMs,
      missingDatabaseOk: t.missingDatabaseOk,
      requireSchema: t.requireSchema,
    }),
    t.redisUrl ? checkRedis(t.redisUrl, { timeoutMs: t.timeoutMs }) : Promise.resolve(undefined),
  ];
  return (await Promise.all(checks)).filter((p): p is Problem => !!p);
}

/** The human form of one problem: a headline naming the setting, then the fix lines indented. */
export function formatProblem(p: Problem): string {
  return [`✖ ${p.message} (${p.setting})`, ...p.fix.map((l) => `  ${l}`)].join('\n');
}

/**
 * Runs the checks; in production retries with exponential backoff (1 s doubling to 30 s, forever: the
 * orchestrator's probes decide when to give up), calling `onAttempt` once per failed attempt. Resolves with the
 * remaining problems (always empty in retry mode, which only returns once everything answers).
 */
export async function waitForDependencies(
  t: PreflightTargets,
  opts: { retry: boolean; onAttempt?: (problems: Problem[], attempt: number, nextDelayMs: number) => void },
): Promise<Problem[]> {
  for (let attempt = 1; ; attempt++) {
    const problems = await preflight(t);
    if (!problems.length || !opts.retry) return problems;
    const delay = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    opts.onAttempt?.(problems, attempt, delay);
    await new Promise((r) => setTimeout(r, delay));
  }
}
