import { cpSync, readFileSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, MigrationError, readMigrations } from '../src/prisma/migrator.js';
import { createEmptyDatabase, MIGRATIONS_DIR, type TestDatabase } from './support/db.js';

async function query<T extends pg.QueryResultRow = any>(url: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/**
 * Models of schema.prisma: table (@@map or model name), scalar columns (@map or field name) and nullability (`?`).
 * The generated client's runtime data model has no nullability, so the schema file is read directly; relation
 * fields (type is another model, or a list of one) have no column and are skipped.
 */
function parsePrismaModels(schema: string) {
  const blocks = [...schema.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const modelNames = new Set(blocks.map((b) => b[1]));
  return blocks.map(([, name, body]) => {
    const table = body.match(/@@map\("([^"]+)"\)/)?.[1] ?? name;
    const fields: Array<{ column: string; nullable: boolean | null }> = [];
    for (const raw of body.split('\n')) {
      const line = raw.replace(/\/\/.*$/, '').trim();
      const m = line.match(/^(\w+)\s+(\w+)(\?|\[\])?(.*)$/);
      if (!m || line.startsWith('@@')) continue;
      const [, field, type, mod, rest] = m;
      if (modelNames.has(type)) continue;
      // Prisma itself creates scalar lists (String[]) without NOT NULL, so their nullability is not compared.
      const nullable = mod === '[]' ? null : mod === '?';
      fields.push({ column: rest.match(/@map\("([^"]+)"\)/)?.[1] ?? field, nullable });
    }
    return { name, table, fields };
  });
}

describe('migrate on empty databases', () => {
  const dbs: TestDatabase[] = [];
  const dirs: string[] = [];
  const fresh = async () => {
    const db = await createEmptyDatabase();
    dbs.push(db);
    return db;
  };
  const copyOfMigrations = () => {
    const d = mkdtempSync(join(tmpdir(), 'cg-mig-'));
    cpSync(MIGRATIONS_DIR, d, { recursive: true });
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('creates the schema with Prisma-compatible bookkeeping, and a second run is a no-op', async () => {
    const db = await fresh();
    const names = readMigrations(MIGRATIONS_DIR).map((m) => m.name);
    const first = await migrate(db.url, MIGRATIONS_DIR);
    expect(first).toEqual({ applied: names, alreadyApplied: [] });

    const tables = await query(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.length).toBeGreaterThan(1);
    const rows = await query(db.url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const [i, r] of rows.entries()) {
      expect(r.checksum).toBe(readMigrations(MIGRATIONS_DIR)[i].checksum);
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.rolled_back_at).toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }

    const second = await migrate(db.url, MIGRATIONS_DIR);
    expect(second).toEqual({ applied: [], alreadyApplied: names });
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM "_prisma_migrations"')).toEqual([
      { n: names.length },
    ]);
  });

  it('two concurrent runs do not conflict: one applies, the other finds it applied', async () => {
    const db = await fresh();
    const [a, b] = await Promise.all([migrate(db.url, MIGRATIONS_DIR), migrate(db.url, MIGRATIONS_DIR)]);
    const names = readMigrations(MIGRATIONS_DIR).map((m) => m.name);
    expect([a.applied, b.applied].sort((x, y) => x.length - y.length)).toEqual([[], names]);
    expect([...a.alreadyApplied, ...b.alreadyApplied]).toEqual(names);
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM "_prisma_migrations"')).toEqual([
      { n: names.length },
    ]);
  });

  it('refuses an applied migration whose file changed, naming it', async () => {
    const db = await fresh();
    const dir = copyOfMigrations();
    await migrate(db.url, dir);
    const first = readMigrations(dir)[0].name;
    appendFileSync(join(dir, first, 'migration.sql'), '\n-- edited afterwards\n');
    const err = await migrate(db.url, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toContain(first);
    expect((err as Error).message).toMatch(/changed after it was applied/);
  });

  it('rolls back a failing migration completely and records nothing for it', async () => {
    const db = await fresh();
    const dir = copyOfMigrations();
    await migrate(db.url, dir);
    const bad = '29991231000000_broken';
    mkdirSync(join(dir, bad));
    writeFileSync(
      join(dir, bad, 'migration.sql'),
      'CREATE TABLE "half_applied" (id int);\nALTER TABLE "no_such_table" ADD COLUMN x int;\n',
    );
    const err = await migrate(db.url, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(/broken failed and was rolled back/);
    expect(await query(db.url, `SELECT to_regclass('public.half_applied') AS t`)).toEqual([{ t: null }]);
    expect(
      await query(db.url, 'SELECT * FROM "_prisma_migrations" WHERE migration_name = $1', [bad]),
    ).toEqual([]);
    // The database stays usable: removing the broken migration, migrate is a no-op again.
    rmSync(join(dir, bad), { recursive: true });
    expect((await migrate(db.url, dir)).applied).toEqual([]);
  });

  it('the migrations create every model of prisma/schema.prisma with matching columns and nullability', async () => {
    const db = await fresh();
    await migrate(db.url, MIGRATIONS_DIR);
    const cols = await query<{ table_name: string; column_name: string; is_nullable: string }>(
      db.url,
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const actual = new Map<string, Map<string, boolean>>();
    for (const c of cols) {
      if (!actual.has(c.table_name)) actual.set(c.table_name, new Map());
      actual.get(c.table_name)!.set(c.column_name, c.is_nullable === 'YES');
    }
    const models = parsePrismaModels(readFileSync(join(process.cwd(), 'prisma', 'schema.prisma'), 'utf8'));
    expect(models.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const m of models) {
      const table = m.table;
      const t = actual.get(table);
      if (!t) {
        problems.push(`table ${table} missing`);
        continue;
      }
      const expected = new Set<string>();
      for (const f of m.fields) {
        const col = f.column;
        expected.add(col);
        if (!t.has(col)) problems.push(`${table}.${col} missing`);
        else if (f.nullable !== null && t.get(col) !== f.nullable)
          problems.push(`${table}.${col} nullability differs`);
      }
      for (const col of t.keys())
        if (!expected.has(col)) problems.push(`${table}.${col} not in the Prisma schema`);
    }
    expect(problems).toEqual([]);
  });
});
