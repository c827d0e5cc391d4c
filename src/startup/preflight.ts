import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import { describeTarget } from '../common/target.js';
import {
  describeRedis,
  parseSentinels,
  redisConnectionOptions,
  RedisSettingError,
  type RedisSettings,
} from '../config/redis-connection.js';

export { describeTarget };

/**
 * Start-up checks: before Nest is built, each role tries Postgres and Redis once with a short timeout, so a
 * missing service ends in one plain sentence (what was tried, which setting controls it, how to fix it)
 * instead of a driver stack trace or a stream of reconnect errors. In production the caller retries instead.
 */

export type Dependency = 'postgres' | 'redis';

export interface Problem {
  dependency: Dependency;
  /** The setting that controls the target (DATABASE_URL / REDIS_URL / a Sentinel or TLS setting). */
  setting:
    | 'DATABASE_URL'
    | 'REDIS_URL'
    | 'REDIS_SENTINELS'
    | 'REDIS_SENTINEL_NAME'
    | 'REDIS_SENTINEL_PASSWORD'
    | 'REDIS_TLS_CA_FILE'
    | 'REDIS_TLS_CERT_FILE'
    | 'REDIS_TLS_KEY_FILE';
  /** host:port (and database name for Postgres) — never the user or password. */
  target: string;
  /** One short sentence: what went wrong. */
  message: string;
  /** Plain-text lines with what to do about it. */
  fix: string[];
  /** A wrong setting, not an outage: waiting cannot fix it, so production exits too instead of retrying. */
  permanent?: boolean;
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

type RedisSetting = Problem['setting'];

const TLS_CODES =
  /^(SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;

/** One short-lived client: no retries, no reconnects, no offline queue, no ready check (we probe ourselves). */
function probeClient(options: RedisOptions, timeoutMs: number, name: string): Redis {
  return new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    failoverDetector: false,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    connectionName: `codex-gateway:${name}`,
  });
}

/** Runs `fn` on a connected probe client; resolves with the error (the 'error' event's cause first) or undefined. */
async function withProbe(
  options: RedisOptions,
  timeoutMs: number,
  name: string,
  fn: (client: Redis) => Promise<void>,
): Promise<unknown> {
  const client = probeClient(options, timeoutMs, name);
  // ioredis rejects connect() with a bare "Connection is closed"; the cause arrives as an 'error' event.
  let cause: unknown;
  client.on('error', (err) => (cause ??= err));
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await fn(client);
      })(),
      timeoutMs + 500,
      () => client.disconnect(),
    );
    return undefined;
  } catch (thrown) {
    const err = cause ?? thrown;
    if (cause && thrown && cause !== thrown) {
      (err as { also?: string }).also = (thrown as Error)?.message;
    }
    return err;
  } finally {
    client.disconnect();
  }
}

function errorText(err: unknown): string {
  return `${(err as Error)?.message ?? ''} ${(err as { also?: string })?.also ?? ''}`;
}

const isAuthError = (err: unknown) =>
  /NOAUTH|WRONGPASS|invalid password|invalid username-password|AUTH.*(failed|without any password)/i.test(
    errorText(err),
  );

/** The sentinels: at least one must answer and know the master name. */
async function checkSentinels(s: RedisSettings, options: RedisOptions, timeoutMs: number) {
  const base = { dependency: 'redis' as const, target: describeRedis(s) };
  const sentinels = parseSentinels(s.REDIS_SENTINELS ?? '');
  const sentinelOptions: RedisOptions = {
    ...(options.sentinelUsername ? { username: options.sentinelUsername } : {}),
    ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}),
    ...(options.enableTLSForSentinelMode && options.sentinelTLS ? { tls: options.sentinelTLS } : {}),
  };
  const answers = await Promise.all(
    sentinels.map(async ({ host, port }) => {
      let master: unknown = null;
      const err = await withProbe(
        { ...sentinelOptions, host, port },
        timeoutMs,
        'preflight-sentinel',
        async (c) => {
          master = await c.call('SENTINEL', 'get-master-addr-by-name', s.REDIS_SENTINEL_NAME ?? '');
        },
      );
      return { where: `${host}:${port}`, err, master };
    }),
  );
  const answered = answers.filter((a) => !a.err);
  if (answered.some((a) => Array.isArray(a.master))) return undefined;
  if (answered.length)
    return {
      ...base,
      setting: 'REDIS_SENTINEL_NAME' as const,
      permanent: true,
      message: `no sentinel of REDIS_SENTINELS knows a master named "${s.REDIS_SENTINEL_NAME}" (asked ${answered.map((a) => a.where).join(', ')})`,
      fix: [
        'Set REDIS_SENTINEL_NAME to the name in the sentinels\' "sentinel monitor <name> …" line (redis-cli -p 26379 SENTINEL masters).',
      ],
    };
  if (answers.some((a) => isAuthError(a.err)))
    return {
      ...base,
      setting: 'REDIS_SENTINEL_PASSWORD' as const,
      permanent: true,
      message: `the sentinels refused the password in REDIS_SENTINEL_PASSWORD`,
      fix: [
        "Check REDIS_SENTINEL_PASSWORD (and REDIS_SENTINEL_USERNAME) against the sentinels' requirepass / ACL.",
      ],
    };
  const tlsFailed = answers.find((a) => TLS_CODES.test(codeOf(a.err) ?? ''));
  if (tlsFailed) return tlsProblem(s, base, tlsFailed.err);
  return {
    ...base,
    setting: 'REDIS_SENTINELS' as const,
    message: `cannot reach any sentinel of REDIS_SENTINELS: ${answers.map((a) => `${a.where} ${reason(a.err)}`).join('; ')}`,
    fix: ['Check that the sentinels run there and this machine can reach them (default port 26379).'],
  };
}

function tlsProblem(s: RedisSettings, base: { dependency: 'redis'; target: string }, err: unknown): Problem {
  const code = codeOf(err) ?? '';
  const setting: RedisSetting =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' || !s.REDIS_TLS_CA_FILE ? 'REDIS_URL' : 'REDIS_TLS_CA_FILE';
  return {
    ...base,
    setting,
    permanent: true,
    message: `the TLS certificate of Redis at ${base.target} was not accepted: ${reason(err)}`,
    fix: [
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'The host name in REDIS_URL must be one the server certificate names.'
        : 'Set REDIS_TLS_CA_FILE to the CA certificate (PEM) that signed the server certificate.',
    ],
  };
}

export interface RedisFacts {
  /** The server answers INFO (managed Redis may refuse it). */
  infoAllowed: boolean;
}

/**
 * Connects once the way the gateway will (Sentinel, TLS, ACL user: src/config/redis-connection.ts), sends PING, refuses
 * Redis Cluster, and finds out whether INFO is allowed. Undefined when all is well. Commands used: PING,
 * CLUSTER INFO, INFO server (both may be refused), SENTINEL get-master-addr-by-name on the sentinels.
 */
export async function checkRedis(
  settings: RedisSettings | string,
  opts: { timeoutMs?: number; onFacts?: (facts: RedisFacts) => void } = {},
): Promise<Problem | undefined> {
  const s: RedisSettings = typeof settings === 'string' ? { REDIS_URL: settings } : settings;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const target = describeRedis(s);
  const sentinel = !!s.REDIS_SENTINELS;
  const urlSetting: RedisSetting = 'REDIS_URL';
  const base = { dependency: 'redis' as const, setting: urlSetting, target };
  let options: RedisOptions;
  try {
    options = redisConnectionOptions(s);
  } catch (err) {
    if (!(err instanceof RedisSettingError)) throw err;
    return { ...base, setting: err.setting as RedisSetting, message: err.message, fix: [], permanent: true };
  }
  if (sentinel) {
    const problem = await checkSentinels(s, options, timeoutMs);
    if (problem) return problem;
  }
  let cluster: string | undefined;
  let infoAllowed = true;
  const err = await withProbe(options, timeoutMs, 'preflight', async (client) => {
    await client.ping();
    // A server in cluster mode answers CLUSTER INFO; any other answers an error (cluster support disabled, or
    // the command refused by an ACL): only an answer means cluster.
    cluster = await client.call('CLUSTER', 'INFO').then(String, () => undefined);
    infoAllowed = await client.info('server').then(
      () => true,
      () => false,
    );
  });
  if (!err) {
    if (cluster && /cluster_(state|enabled|slots)/.test(cluster))
      return {
        ...base,
        permanent: true,
        message:
          `Redis at ${target} runs in cluster mode, which the gateway does not support: its Lua scripts and BullMQ ` +
          'touch several keys in one call, and a cluster refuses keys that live on different nodes',
        fix: [
          'Use a single primary (with replicas and Sentinel: REDIS_SENTINELS, REDIS_SENTINEL_NAME) or a managed',
          'Redis in non-cluster mode. See docs/scaling.md, "Redis in production".',
        ],
      };
    opts.onFacts?.({ infoAllowed });
    return undefined;
  }
  if (isAuthError(err))
    return {
      ...base,
      message: `Redis at ${target} refused the credentials in REDIS_URL`,
      fix: ['Check the user name and password in REDIS_URL (redis://user:password@host:6379).'],
    };
  if (TLS_CODES.test(codeOf(err) ?? '')) return tlsProblem(s, base, err);
  if (sentinel)
    return {
      ...base,
      setting: 'REDIS_SENTINELS',
      message: `the sentinels name a master for "${s.REDIS_SENTINEL_NAME}" but it does not answer: ${reason(err)}`,
      fix: [
        "Check the sentinels' view (redis-cli -p 26379 SENTINEL masters) and that this machine can reach the master.",
      ],
    };
  const url = s.REDIS_URL;
  const where = isLocal(url)
    ? START_REDIS
    : [`Check that Redis runs on ${target} and this machine can reach it.`];
  return {
    ...base,
    message: `cannot reach Redis at ${target}: ${reason(err)}`,
    fix: [...where, 'or set REDIS_URL to your server, e.g. redis://host:6379'],
  };
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
