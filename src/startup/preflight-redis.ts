import { Redis, type RedisOptions } from 'ioredis';
import {
  describeRedis,
  parseSentinels,
  redisConnectionOptions,
  RedisSettingError,
  type RedisSettings,
} from '../config/redis-connection.js';
import { codeOf, isLocal, reason, START_REDIS, TLS_CODES, withTimeout, type Problem } from './problems.js';

/** The Redis start-up check: one connection made the way the gateway's are (Sentinel, TLS, ACL user). */

type RedisSetting = Problem['setting'];

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
