import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Applies the SQL migrations in prisma/migrations (Prisma's folder layout) without Prisma's schema engine,
 * which cannot be downloaded here (docs/adr/0002-migrations-without-schema-engine.md):
 * - a Postgres advisory lock serialises concurrent runs (replicas starting together), transaction-scoped so it
 *   also holds through PgBouncer in transaction mode (docs/scaling.md);
 * - each migration runs in its own transaction together with its bookkeeping row;
 * - bookkeeping uses Prisma's own `_prisma_migrations` table and SHA-256 checksums, so
 *   `prisma migrate status/deploy` agree wherever the engine is available;
 * - an applied migration whose file changed since is refused (checksum mismatch), as Prisma does.
 */
export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {}

/** Same value as Prisma's lock key for `migrate deploy` so both tools exclude each other. */
const ADVISORY_LOCK_KEY = 72707369;

const BOOKKEEPING_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** The applied migrations, checked against the files; throws on a failed, unknown or edited migration. */
function checkApplied(rows: AppliedRow[], migrations: MigrationFile[], dir: string): Set<string> {
  const applied = new Map<string, { checksum: string }>();
  for (const r of rows) {
    if (r.rolled_back_at) continue;
    if (!r.finished_at) {
      throw new MigrationError(
        `migration ${r.migration_name} started but never finished (failed earlier). Fix the database by hand, ` +
          `then mark it rolled back (UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${r.migration_name}').`,
      );
    }
    applied.set(r.migration_name, { checksum: r.checksum });
  }
  const known = new Set(migrations.map((m) => m.name));
  for (const name of applied.keys()) {
    if (!known.has(name)) {
      throw new MigrationError(`migration ${name} is applied in the database but missing from ${dir}.`);
    }
  }
  for (const m of migrations) {
    const prior = applied.get(m.name);
    if (prior && prior.checksum !== m.checksum) {
      throw new MigrationError(
        `migration ${m.name} was changed after it was applied (checksum ${prior.checksum.slice(0, 12)}… in the ` +
          `database, ${m.checksum.slice(0, 12)}… on disk). Applied migrations must never be edited: revert the ` +
          `file and add a new migration instead.`,
      );
    }
  }
  return new Set(applied.keys());
}

/**
 * One transaction holds the advisory lock (`pg_advisory_xact_lock`, released by its own COMMIT or ROLLBACK), so
 * the lock never outlives a transaction and holds through a transaction-pooling PgBouncer, where consecutive
 * statements of one client may run on different server connections (a session lock taken by one statement
 * would be released, or leaked, on another). Each migration runs in its own savepoint inside it: a failing one
 * is rolled back alone, the ones before it are committed, as when each had its own transaction.
 */
export async function migrate(
  databaseUrl: string,
  dir: string,
  log: (msg: string) => void = () => {},
): Promise<MigrateResult> {
  const migrations = readMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  let failure: MigrationError | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
      await client.query(BOOKKEEPING_DDL);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      );
      const applied = checkApplied(rows, migrations, dir);
      for (const m of migrations) {
        if (applied.has(m.name)) {
          result.alreadyApplied.push(m.name);
          continue;
        }
        log(`applying migration ${m.name}`);
        const id = randomUUID();
        await client.query('SAVEPOINT migration');
        try {
          await client.query(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
            [id, m.checksum, m.name],
          );
          await client.query(m.sql);
          await client.query(
            'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
            [id],
          );
          await client.query('RELEASE SAVEPOINT migration');
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT migration');
          failure = new MigrationError(
            `migration ${m.name} failed and was rolled back: ${(err as Error).message}`,
          );
          break;
        }
        result.applied.push(m.name);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    await client.end();
  }
  if (failure) throw failure;
  return result;
}

/** Creates the database named in the URL if it does not exist (convenient for `npm start` on a fresh machine). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return false;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42P04') return false; // created concurrently
    throw err;
  } finally {
    await client.end();
  }
}
