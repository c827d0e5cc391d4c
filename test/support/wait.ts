import pg from 'pg';
import type { TestGateway } from './gateway.js';

/** Polls `fn` until it is true, or fails naming what it waited for. */
export async function eventually(
  fn: () => Promise<boolean> | boolean,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
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
