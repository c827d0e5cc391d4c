import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { FakeUpstream } from './fake-upstream/index.ts';
import { migrate, readMigrations } from '../src/prisma/migrator.js';
import { PrismaService } from '../src/prisma/prisma.service.js';
import type { AppConfig } from '../src/config/config.schema.js';
import { checkPostgres } from '../src/startup/preflight.js';
import { ADMIN_URL, MIGRATIONS_DIR, urlFor } from './support/db.js';
import { seedAccount } from './support/accounts.js';
import { createAdminKey } from './support/auth.js';
import { call } from './support/http.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { eventually, query } from './support/wait.js';
import { startPgBouncer, startTlsPostgres, type Managed } from './support/postgres-servers.js';
import { makeCertificates } from './support/redis-servers.js';

/**
 * Postgres as teams run it (issue 27, item 2): PgBouncer in transaction mode (Debian's, started here, pool of 2
 * server connections so consecutive statements of one client really land on different connections) — migrations
 * with their advisory lock, the gateway's transactions and the usage writer through it; and TLS with a CA the
 * test makes (a second cluster that accepts only hostssl), including the start-up refusals.
 */
const MAIN = join(process.cwd(), 'dist', 'main.js');
const STACK_FRAME = /^\s+at /m;
const pgbouncerInstalled = existsSync('/usr/sbin/pgbouncer');
const admin = new URL(ADMIN_URL);

async function sql<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

function through(port: number, url: string): string {
  const u = new URL(url);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

(pgbouncerInstalled ? describe : describe.skip)('PgBouncer in transaction mode', () => {
  let bouncer: Managed;
  let fake: FakeUpstream;
  let gw: TestGateway;
  const dbName = `cg_pgb_${process.pid}_${Date.now()}`;

  beforeAll(async () => {
    bouncer = await startPgBouncer({ host: admin.hostname, port: Number(admin.port || 5432) });
    fake = await FakeUpstream.start();
    gw = await startGateway({
      env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl },
      databaseUrl: (url) => through(bouncer.port, url),
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await bouncer?.stop();
    await sql(ADMIN_URL, `DROP DATABASE IF EXISTS "${dbName}"`).catch(() => {});
  });

  it('three concurrent migrate runs through it: each migration applied exactly once, none fails', async () => {
    await sql(ADMIN_URL, `CREATE DATABASE "${dbName}"`);
    const url = through(bouncer.port, urlFor(dbName));
    const runs = await Promise.all([1, 2, 3].map(() => migrate(url, MIGRATIONS_DIR)));
    const names = readMigrations(MIGRATIONS_DIR).map((m) => m.name);
    expect(runs.map((r) => r.applied.length).sort((a, b) => a - b)).toEqual([0, 0, names.length]);
    const rows = await sql<{ migration_name: string }>(
      urlFor(dbName),
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    // No advisory lock left behind on a pooled server connection.
    const locks = await sql<{ n: number }>(
      ADMIN_URL,
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`,
    );
    expect(locks[0].n).toBe(0);
  }, 60_000);

  it('the gateway through it: admin transactions, requests, and every usage row written once', async () => {
    expect(gw.config.DATABASE_URL).toContain(`:${bouncer.port}/`);
    const adminKey = await createAdminKey(gw);
    // Creating a key runs an interactive Prisma transaction.
    const created = await call(gw, 'POST', '/admin/api/keys', {
      key: adminKey.key,
      body: { name: 'via pgbouncer' },
    });
    expect(created.status).toBe(201);
    const acct = fake.addAccount();
    await seedAccount(gw, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt, label: 'pgb' });
    const client = new OpenAI({ apiKey: created.body.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const N = 24;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        i % 2
          ? client.responses.create({ model: 'gpt-5.5', input: `r${i}` }).then((r) => r.status)
          : client.chat.completions
              .create({ model: 'gpt-5.5', messages: [{ role: 'user', content: `c${i}` }] })
              .then((r) => r.choices[0].finish_reason),
      ),
    );
    expect(answers.filter((a) => a === 'completed' || a === 'stop')).toHaveLength(N);
    await eventually(
      async () =>
        (
          await query(gw, 'SELECT count(*)::int AS n FROM usage_records WHERE "keyId" = $1', [
            created.body.id,
          ])
        )[0].n >= N,
      'usage rows',
    );
    const rows = await query<{ n: number; distinct: number }>(
      gw,
      'SELECT count(*)::int AS n, count(DISTINCT "requestId")::int AS distinct FROM usage_records WHERE "keyId" = $1',
      [created.body.id],
    );
    expect(rows[0]).toEqual({ n: N, distinct: N });
    expect(gw.logs.text).not.toMatch(/prepared statement|PgBouncer|pgbouncer cannot/i);
  }, 60_000);
});

describe('Postgres over TLS (sslmode=verify-full, sslrootcert)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-pgtls-certs-'));
  const certs = makeCertificates(dir);
  let server: Managed;
  let base: string;

  beforeAll(async () => {
    server = await startTlsPostgres(certs);
    base = `postgresql://postgres@127.0.0.1:${server.port}`;
    await sql(
      `${base}/postgres?sslmode=verify-full&sslrootcert=${certs.caFile}`,
      'CREATE DATABASE codex_tls',
    );
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrate, the start-up check and Prisma connect with the CA; the server really requires TLS', async () => {
    const url = `${base}/codex_tls?sslmode=verify-full&sslrootcert=${certs.caFile}`;
    const r = await migrate(url, MIGRATIONS_DIR);
    expect(r.applied.length).toBeGreaterThan(0);
    expect(await checkPostgres(url, { requireSchema: true })).toBeUndefined();
    const prisma = new PrismaService({ DATABASE_URL: url } as AppConfig);
    try {
      await prisma.ping();
      expect(await prisma.user.count()).toBe(0);
      const [{ ssl }] = await prisma.$queryRawUnsafe<{ ssl: boolean }[]>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(ssl).toBe(true);
    } finally {
      await prisma.$disconnect();
    }
    const plain = await checkPostgres(`${base}/codex_tls?sslmode=disable`);
    expect(plain?.setting).toBe('DATABASE_URL');
    expect(plain?.message).toMatch(/refused/);
  }, 60_000);

  it('a CA that did not sign the certificate, or a missing CA file: exits with one plain line naming DATABASE_URL', async () => {
    const cases: [string, RegExp][] = [
      [
        `${base}/codex_tls?sslmode=verify-full&sslrootcert=${certs.otherCaFile}`,
        /the TLS certificate of PostgreSQL at 127\.0\.0\.1:\d+ was not accepted/,
      ],
      [
        `${base}/codex_tls?sslmode=verify-full&sslrootcert=/nonexistent/root.crt`,
        /DATABASE_URL names a TLS file that cannot be read: \/nonexistent\/root\.crt \(no such file\)/,
      ],
    ];
    for (const [url, text] of cases) {
      const child = spawn(process.execPath, [MAIN, 'serve'], {
        env: {
          ...process.env,
          NODE_ENV: 'production',
          ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
          DATABASE_URL: url,
          PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).toBe(3);
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]);
      expect(line).toMatchObject({ level: 'fatal', setting: 'DATABASE_URL' });
      expect(line.msg).toMatch(text);
      expect(out).not.toMatch(STACK_FRAME);
    }
  }, 60_000);
});
