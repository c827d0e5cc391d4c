/** What a start-up check reports, and the small helpers both checks (Postgres, Redis) share. */

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

export const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);

export function isLocal(url: string): boolean {
  try {
    return LOCAL_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

export function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return '';
  }
}

/** The errno-ish code of a network/driver error, also when nested (AggregateError of IPv4/IPv6 attempts). */
export function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (codeOf(inner)) return codeOf(inner);
  return undefined;
}

export function reason(err: unknown): string {
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

export const START_POSTGRES = [
  'Start PostgreSQL:',
  '  Debian/Ubuntu: sudo systemctl start postgresql',
  '  macOS:         brew services start postgresql@15',
  '  Docker:        docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15',
  '  (or run the whole stack in containers: docker compose up)',
];
export const START_REDIS = [
  'Start Redis:',
  '  Debian/Ubuntu: sudo systemctl start redis-server',
  '  macOS:         brew services start redis',
  '  Docker:        docker run -d -p 6379:6379 redis:7',
  '  (or run the whole stack in containers: docker compose up)',
];

export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
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

/** Error codes of a TLS certificate the client did not accept (Postgres and Redis alike). */
export const TLS_CODES =
  /^(SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;
