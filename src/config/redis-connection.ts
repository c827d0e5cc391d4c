import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { describeTarget } from '../common/target.js';

/**
 * How every Redis connection of the gateway is made (commands, pub/sub subscribers, BullMQ queues and workers,
 * locks, the start-up check): one function turns the settings into ioredis options, so a Sentinel, TLS or ACL
 * setting applies to all connections alike. See docs/scaling.md ("Redis in production").
 *
 * - Plain: `REDIS_URL` (`redis://[user:pass@]host:port/db`; `rediss://` = TLS).
 * - Sentinel: `REDIS_SENTINELS=host:port,…` + `REDIS_SENTINEL_NAME`; the master's address comes from the
 *   sentinels on every (re)connect, so a failover is followed without a restart. `REDIS_URL`'s host and port are
 *   then unused; its user, password, database number and scheme (`rediss://`: TLS to the master and the sentinels)
 *   still apply. `REDIS_SENTINEL_PASSWORD` authenticates to the sentinels (`REDIS_SENTINEL_USERNAME` for ACLs).
 * - TLS files: `REDIS_TLS_CA_FILE`, `REDIS_TLS_CERT_FILE` + `REDIS_TLS_KEY_FILE` (client certificate).
 */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_USERNAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_TLS_CA_FILE?: string;
  REDIS_TLS_CERT_FILE?: string;
  REDIS_TLS_KEY_FILE?: string;
  /**
   * False when the server refuses `INFO` (managed Redis with a restricted ACL, or the command renamed): the
   * start-up check finds out, and then ioredis' ready check (an `INFO`) and BullMQ's version check are skipped.
   */
  redisInfoAllowed?: boolean;
}

export class RedisSettingError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SentinelAddress {
  host: string;
  port: number;
}

/** `host:port,host:port` (IPv6 as `[::1]:26379`); the default port is 26379. */
export function parseSentinels(value: string): SentinelAddress[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry);
      const port = m?.[2] ? Number(m[2]) : 26379;
      if (!m || port < 1 || port > 65535)
        throw new RedisSettingError('REDIS_SENTINELS', `REDIS_SENTINELS: "${entry}" is not host:port`);
      return { host: m[1].replace(/^\[|\]$/g, ''), port };
    });
}

function readFile(setting: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new RedisSettingError(setting, `${setting}: cannot read ${path} (${why})`);
  }
}

/**
 * Checks the settings that can be checked without a network: sentinel list and name together, TLS files
 * readable, a client certificate with its key. Throws RedisSettingError naming the setting.
 */
export function validateRedisSettings(s: RedisSettings): void {
  redisConnectionOptions(s);
}

function tlsOptions(s: RedisSettings, url: URL): RedisOptions['tls'] | undefined {
  const ca = readFile('REDIS_TLS_CA_FILE', s.REDIS_TLS_CA_FILE);
  const cert = readFile('REDIS_TLS_CERT_FILE', s.REDIS_TLS_CERT_FILE);
  const key = readFile('REDIS_TLS_KEY_FILE', s.REDIS_TLS_KEY_FILE);
  if (!!cert !== !!key)
    throw new RedisSettingError(
      cert ? 'REDIS_TLS_KEY_FILE' : 'REDIS_TLS_CERT_FILE',
      'REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together (a client certificate needs its private key)',
    );
  const files = !!(ca || cert);
  if (url.protocol !== 'rediss:') {
    if (files)
      throw new RedisSettingError(
        s.REDIS_TLS_CA_FILE ? 'REDIS_TLS_CA_FILE' : 'REDIS_TLS_CERT_FILE',
        `${s.REDIS_TLS_CA_FILE ? 'REDIS_TLS_CA_FILE' : 'REDIS_TLS_CERT_FILE'} is set but REDIS_URL is not rediss:// ` +
          '(TLS is switched on by the rediss:// scheme)',
      );
    return undefined;
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}) };
}

/** The ioredis options of one connection (without per-connection tuning such as retries or a name). */
export function redisConnectionOptions(s: RedisSettings): RedisOptions {
  let url: URL;
  try {
    url = new URL(s.REDIS_URL);
  } catch {
    throw new RedisSettingError('REDIS_URL', 'REDIS_URL is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new RedisSettingError(
      'REDIS_URL',
      `REDIS_URL must start with redis:// or rediss:// (got ${url.protocol})`,
    );
  const tls = tlsOptions(s, url);
  const db = Number(decodeURIComponent(url.pathname.replace(/^\//, '')) || 0);
  if (!Number.isInteger(db) || db < 0)
    throw new RedisSettingError('REDIS_URL', 'REDIS_URL: the path must be a database number (/0)');
  const auth: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    db,
  };
  const sentinels = s.REDIS_SENTINELS ? parseSentinels(s.REDIS_SENTINELS) : [];
  if (sentinels.length && !s.REDIS_SENTINEL_NAME)
    throw new RedisSettingError(
      'REDIS_SENTINEL_NAME',
      'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master name the sentinels monitor, e.g. mymaster)',
    );
  if (!sentinels.length && s.REDIS_SENTINEL_NAME)
    throw new RedisSettingError('REDIS_SENTINELS', 'REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is empty');
  if (!sentinels.length) {
    return {
      host: url.hostname || '127.0.0.1',
      port: Number(url.port || 6379),
      ...auth,
      ...(tls ? { tls } : {}),
    };
  }
  return {
    sentinels,
    name: s.REDIS_SENTINEL_NAME,
    ...auth,
    ...(s.REDIS_SENTINEL_USERNAME ? { sentinelUsername: s.REDIS_SENTINEL_USERNAME } : {}),
    ...(s.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: s.REDIS_SENTINEL_PASSWORD } : {}),
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
    // No `failoverDetector`: in ioredis 6.0 it disconnects a reconnect attempt that is under way, which then ends
    // the connection for good ("Connection is closed.", seen in test/redis-production.e2e-spec.ts under load),
    // and quit() leaves its sentinel subscriptions open. A dead master is noticed by the socket error; each
    // reconnect asks the sentinels for the current master.
    // After a failover the old master may come back as a replica: a write there answers READONLY; reconnect,
    // which asks the sentinels for the master again, and send the command once more (2).
    reconnectOnError: (err) => (/READONLY/.test(err.message) ? 2 : false),
  };
}

/** What the log and error messages call the target: host:port, or the sentinel set and master name. */
export function describeRedis(s: RedisSettings): string {
  if (s.REDIS_SENTINELS && s.REDIS_SENTINEL_NAME)
    return `sentinel master "${s.REDIS_SENTINEL_NAME}" via ${s.REDIS_SENTINELS}`;
  return describeTarget(s.REDIS_URL, 6379);
}
