import pg from 'pg';
import type { TestGateway } from './gateway.js';

/**
 * The one polling helper of the tests: calls `fn` every `everyMs` until it returns true and resolves with the
 * milliseconds that took; a throw counts as "not yet". On timeout it throws, naming what it waited for and the
 * last error, so a caller never has to check a return value.
 */
export async function eventually(
  fn: () => Promise<boolean> | boolean,
  what: string,
  ms = 20_000,
  everyMs = 50,
): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return Date.now() - t0;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > ms) {
      const cause =
        last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
      throw new Error(`timed out after ${ms} ms waiting for ${what}${cause}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One SQL query against the gateway's own test database. */
export async function query<T = any>(gw: TestGateway, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}
