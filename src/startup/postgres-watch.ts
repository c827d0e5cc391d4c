import type { LoggerService } from '@nestjs/common';
import { OutageLog } from '../common/outage.js';

/**
 * Postgres has no connection events we can hear (Prisma's pool reconnects per query), so a light ping every few
 * seconds tells when the database goes away and comes back: one line each way, with the duration.
 * Returns the function that stops watching (called on shutdown).
 */
export function watchPostgres(
  ping: () => Promise<unknown>,
  target: string,
  logger: LoggerService,
  intervalMs = 5000,
  timeoutMs = 2000,
): () => void {
  const outage = new OutageLog('postgres', target, 'DATABASE_URL', logger);
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
            timeoutMs,
          );
        }),
      ]);
      outage.recovered('ping');
    } catch (err) {
      // Any failure of `SELECT 1` means the database is not usable: count it as unreachable.
      outage.failed('ping', err, true);
    } finally {
      clearTimeout(timer);
      busy = false;
    }
  };
  const interval = setInterval(() => void tick(), intervalMs);
  interval.unref();
  return () => clearInterval(interval);
}
