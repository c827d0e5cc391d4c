import pg from 'pg';
import { describeTarget } from '../common/target.js';
import type { RedisSettings } from '../config/redis-connection.js';
import { checkRedis, type RedisFacts } from './preflight-redis.js';
import {
  codeOf,
  databaseName,
  isLocal,
  reason,
  START_POSTGRES,
  TLS_CODES,
  withTimeout,
  type Dependency,
  type Problem,
} from './problems.js';

export { describeTarget, checkRedis };
export type { Dependency, Problem, RedisFacts };

/**
 * Start-up checks: before Nest is built, each role tries Postgres and Redis once with a short timeout, so a
 * missing service ends in one plain sentence (what was tried, which setting controls it, how to fix it)
 * instead of a driver stack trace or a stream of reconnect errors. In production the caller retries instead.
 */

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
  let client: pg.Client;
  try {
    // Parsing the URL reads its sslrootcert/sslcert/sslkey files: a wrong path fails here, before any network.
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  } catch (err) {
    const e = err as { code?: string; path?: string; message?: string };
    return {
      ...base,
      permanent: true,
      message:
        e.code === 'ENOENT' || e.code === 'EACCES'
          ? `DATABASE_URL names a TLS file that cannot be read: ${e.path} (${e.code === 'ENOENT' ? 'no such file' : 'permission denied'})`
          : `DATABASE_URL cannot be used: ${reason(err)}`,
      fix: [
        'Check sslrootcert / sslcert / sslkey in DATABASE_URL (docs/scaling.md, "Postgres in production").',
      ],
    };
  }
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
    if (TLS_CODES.test(code ?? ''))
      return {
        ...base,
        permanent: true,
        message: `the TLS certificate of PostgreSQL at ${describeTarget(url, 5432)} was not accepted: ${reason(err)}`,
        fix: [
          'Add the CA that signed the server certificate to DATABASE_URL: ?sslmode=verify-full&sslrootcert=/path/ca.pem',
          '(the host name in DATABASE_URL must be one the certificate names).',
        ],
      };
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

export interface PreflightTargets {
  databaseUrl: string;
  /** Omitted when the command does not use Redis (migrate). A bare URL, or all Redis settings. */
  redisUrl?: string | RedisSettings;
  /** What the Redis check found out (INFO allowed or not). */
  onRedisFacts?: (facts: RedisFacts) => void;
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
    t.redisUrl
      ? checkRedis(t.redisUrl, { timeoutMs: t.timeoutMs, onFacts: t.onRedisFacts })
      : Promise.resolve(undefined),
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
    if (!problems.length || !opts.retry || problems.some((p) => p.permanent)) return problems;
    const delay = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    opts.onAttempt?.(problems, attempt, delay);
    await new Promise((r) => setTimeout(r, delay));
  }
}
