import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../src/prisma/migrator.js';

/**
 * Databases for tests: one template built by the project's own `migrate` (so tests run against exactly what
 * `node dist/main.js migrate` creates), and a fresh copy of it per test file (CREATE DATABASE … TEMPLATE),
 * so test files are independent and can run in parallel.
 */
export const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const MIGRATIONS_DIR = join(process.cwd(), 'prisma', 'migrations');

export function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export function templateName(): string {
  const h = createHash('sha256');
  for (const d of readdirSync(MIGRATIONS_DIR).sort()) {
    const f = join(MIGRATIONS_DIR, d, 'migration.sql');
    if (existsSync(f)) h.update(d).update(readFileSync(f));
  }
  return `cg_tpl_${h.digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Builds the template database once per migration set (idempotent, safe when several Jest runs race). */
export async function ensureTemplate(): Promise<string> {
  const name = templateName();
  await withAdmin(async (c) => {
    await c.query('SELECT pg_advisory_lock(424242)');
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_build`;
      await c.query(`DROP DATABASE IF EXISTS "${building}"`);
      await c.query(`CREATE DATABASE "${building}"`);
      await migrate(urlFor(building), MIGRATIONS_DIR);
      await c.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    } finally {
      await c.query('SELECT pg_advisory_unlock(424242)');
    }
  });
  return name;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = `cg_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (c) => {
    // Copying a template fails while another session is connected to it; retry briefly.
    for (let i = 0; ; i++) {
      try {
        await c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (err) {
        if (i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
      }
    }
  });
  return {
    name,
    url: urlFor(name),
    drop: () =>
      withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => undefined)),
  };
}

/** An empty database (no schema), e.g. to test `migrate` itself. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `cg_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: urlFor(name),
    drop: () =>
      withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => undefined)),
  };
}
