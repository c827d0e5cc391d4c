/**
 * Tells "a dependency is down" apart from a bug, so such errors answer 503 with a clear code instead of 500.
 * Postgres: Prisma's connection error codes and node-postgres/socket messages; Redis: ioredis' errors while it
 * reconnects. The cause chain is walked (adapters wrap the driver's error).
 */
const PG_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const PG_MESSAGES =
  /Can't reach database|DatabaseNotReachable|ECONNREFUSED|ECONNRESET|Connection terminated|connection timeout|terminating connection|the database system is (starting up|shutting down)|Server has closed the connection|Client has encountered a connection error|Connection ended unexpectedly/i;
const REDIS_MESSAGES =
  /Connection is closed|max retries per request|Stream isn't writeable|enableOfflineQueue|ETIMEDOUT|Command timed out/i;

export type Dependency = 'postgres' | 'redis';

export function unavailableDependency(err: unknown): Dependency | null {
  let e: any = err;
  for (let depth = 0; e && depth < 6; depth++, e = e.cause) {
    const name = String(e.name ?? e.constructor?.name ?? '');
    const msg = String(e.message ?? '');
    if (name === 'MaxRetriesPerRequestError' || (/redis/i.test(name) && REDIS_MESSAGES.test(msg)))
      return 'redis';
    if (REDIS_MESSAGES.test(msg) && !/prisma|database|postgres/i.test(name + msg)) return 'redis';
    if (typeof e.code === 'string' && PG_CODES.has(e.code)) return 'postgres';
    if (/Prisma|DriverAdapter/.test(name) && PG_MESSAGES.test(msg)) return 'postgres';
    if (e.kind === 'DatabaseNotReachable' || e.kind === 'ConnectionClosed') return 'postgres';
    if (PG_MESSAGES.test(msg)) return 'postgres';
  }
  return null;
}
