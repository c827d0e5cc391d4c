import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../../src/prisma/migrator.js';
import { eventually } from '../support/wait.js';

/**
 * Fault-suite plumbing: Redis and Postgres instances of our own (temp dirs, free ports) that a test may stop,
 * flush and start again without touching the shared ones; the built gateway (`node dist/main.js`) as child
 * processes; a load generator that tallies answers by status; a one-line report per scenario.
 */
const run = promisify(execFile);
export const MAIN = join(process.cwd(), 'dist', 'main.js');
export const hasBuild = existsSync(MAIN);
const PG_BIN = '/usr/lib/postgresql/15/bin';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `eventually` (test/support/wait.ts) with the fault suite's argument order and a 100 ms step. */
export const waitFor = (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<number> => eventually(check, what, timeoutMs, everyMs);

// ---------------------------------------------------------------- Redis

export class OwnRedis {
  private proc?: ChildProcess;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly persist: boolean,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** persist: append-only file on, so a restart keeps the data; otherwise a restart starts empty. */
  static async start(persist: boolean): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), mkdtempSync(join(tmpdir(), 'cg-redis-')), persist);
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        this.persist ? 'yes' : 'no',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('redis', () => this.ping(), 10_000, 50);
  }

  async ping(): Promise<boolean> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } finally {
      c.disconnect();
    }
  }

  client<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    return redisClient(this.url, fn);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- Postgres

/** A Postgres cluster of our own (initdb as the postgres user: initdb refuses root). */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  url(db = 'codex_gateway'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${db}`;
  }

  private static asPostgres(cmd: string, args: string[]) {
    return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
  }

  static async create(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'cg-pg-'));
    if (process.getuid?.() === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
      chownSync(dir, uid, gid);
    }
    const p = new OwnPostgres(await freePort(), dir);
    await OwnPostgres.asPostgres(`${PG_BIN}/initdb`, [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-N',
    ]);
    await p.start();
    const c = new pg.Client({ connectionString: p.url('postgres') });
    await c.connect();
    await c.query('CREATE DATABASE codex_gateway');
    await c.end();
    await migrate(p.url(), MIGRATIONS_DIR);
    return p;
  }

  async start(): Promise<void> {
    await OwnPostgres.asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      join(this.dir, 'data'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
  }

  /** Immediate stop: connections drop at once, as in a crash or a network cut. */
  async stop(): Promise<void> {
    await OwnPostgres.asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      join(this.dir, 'data'),
      '-m',
      'immediate',
      'stop',
    ]);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function query<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- gateway processes

export class GatewayProc {
  out = '';
  url = '';
  private exited: Promise<number | null>;
  private constructor(
    readonly role: 'serve' | 'worker' | 'all',
    readonly proc: ChildProcess,
  ) {
    proc.stdout!.on('data', (d) => (this.out += d));
    proc.stderr!.on('data', (d) => (this.out += d));
    this.exited = new Promise((r) => proc.once('exit', (c) => r(c)));
  }

  static async start(
    role: 'serve' | 'worker' | 'all',
    env: Record<string, string>,
    opts: { waitReady?: boolean; port?: number } = {},
  ): Promise<GatewayProc> {
    // A fixed port when a load balancer expects the process there again after a restart.
    const port = opts.port ?? (await freePort()); // a worker listens too, for GET /metrics only
    const proc = spawn(process.execPath, [MAIN, role], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const g = new GatewayProc(role, proc);
    g.url = `http://127.0.0.1:${port}`;
    const marker = role === 'worker' ? '"msg":"worker started' : '"msg":"listening"';
    try {
      await waitFor(
        `${role} to start`,
        () => {
          if (proc.exitCode !== null) throw new Error(`${role} exited: ${g.out.slice(-2000)}`);
          return g.out.includes(marker);
        },
        60_000,
      );
      if (opts.waitReady !== false && role !== 'worker')
        await waitFor('readyz', async () => (await fetch(`${g.url}/readyz`)).status === 200, 20_000);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    return g;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }

  logLines(): Record<string, any>[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return {};
        }
      });
  }
}

/** The environment of a gateway process on the given stores, talking to the fake upstream. */
export function gatewayEnv(
  fake: { url: string; codexBaseUrl: string },
  stores: { db: string; redis: string; prefix: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: stores.db,
    REDIS_URL: stores.redis,
    REDIS_KEY_PREFIX: stores.prefix,
    OPENAI_AUTH_ISSUER: fake.url,
    CODEX_BASE_URL: fake.codexBaseUrl,
    CODEX_USER_AGENT: 'codex_exec/0.169.0 (Test 1; x86_64) xterm',
    ...extra,
  };
}

// ---------------------------------------------------------------- load and report

export interface Tally {
  sent: number;
  ok: number;
  byStatus: Record<string, number>;
  /** Slowest answer that was not a 200 (a failing request must fail fast). */
  slowestFailureMs: number;
  /** ms since start of each answer, with its status (for recovery time). */
  timeline: { at: number; status: string; ms: number }[];
}

export function newTally(): Tally {
  return { sent: 0, ok: 0, byStatus: {}, slowestFailureMs: 0, timeline: [] };
}

/**
 * A non-streaming request that opens a conversation of its own. The gateway keeps one conversation on one account
 * (docs/adr/0012-conversation-identity.md): without a `prompt_cache_key`, identical bodies from one key are one
 * derived conversation, and the whole load would stick to a single account (no round-robin, no failover to see).
 * A team's traffic is many conversations, so each request gets its own key unless a body is given.
 */
export async function modelRequest(
  url: string,
  key: string,
  body: Record<string, unknown> = {
    model: 'gpt-5.5',
    input: 'hi',
    stream: false,
    prompt_cache_key: `faults-${randomUUID()}`,
  },
  timeoutMs = 15_000,
): Promise<{ status: string; text: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await fetch(`${url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    return { status: String(r.status), text, ms: Date.now() - t0 };
  } catch (err) {
    const name = (err as Error).name === 'TimeoutError' ? 'timeout' : 'neterr';
    return { status: name, text: (err as Error).message, ms: Date.now() - t0 };
  }
}

/** `concurrency` loops sending requests until stop() (returns the tally). */
export function load(
  send: () => Promise<{ status: string; ms: number }>,
  concurrency: number,
  pauseMs = 20,
): { tally: Tally; stop: () => Promise<Tally> } {
  const tally = newTally();
  const start = Date.now();
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      tally.sent++;
      const r = await send();
      tally.byStatus[r.status] = (tally.byStatus[r.status] ?? 0) + 1;
      if (r.status === '200') tally.ok++;
      else tally.slowestFailureMs = Math.max(tally.slowestFailureMs, r.ms);
      tally.timeline.push({ at: Date.now() - start, status: r.status, ms: r.ms });
      await sleep(pauseMs);
    }
  });
  return {
    tally,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** One line per scenario, greppable in CI logs: `[faults] <scenario> key=value …`. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const parts = Object.entries(figures).map(
    ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
  );
  console.log(`[faults] ${scenario} ${parts.join(' ')}`);
}

// ---------------------------------------------------------------- seeding without an in-process app

import { loadConfig } from '../../src/config/load-config.js';
import { KeyRing } from '../../src/common/crypto.js';
import type { TestGateway } from '../support/gateway.js';
import { seedAccount } from '../support/accounts.js';
import { FakeUpstream as FakeUpstreamClass, type FakeUpstream } from '../fake-upstream/index.ts';
import { createTestDatabase, MIGRATIONS_DIR, type TestDatabase } from '../support/db.js';
import { flushPrefix, testPrefix } from '../support/redis.js';

/** Enough of a TestGateway for the seed helpers (test/support/accounts.ts, auth.ts): database and keys. */
export function seedTarget(dbUrl: string, encryptionKey?: string): TestGateway {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: dbUrl, ENCRYPTION_KEY: encryptionKey });
  return { config, db: { url: dbUrl, name: '', drop: async () => {} } } as unknown as TestGateway;
}

/**
 * The fake upstream, a database of the file's own and a Redis key prefix, made before the file's tests and removed
 * after them (after `cleanup`, which stops the file's processes). Call inside `describe`.
 */
export function faultFixture(cleanup: () => Promise<void>): {
  fake: FakeUpstream;
  db: TestDatabase;
  prefix: string;
} {
  const f = { prefix: testPrefix() } as { fake: FakeUpstream; db: TestDatabase; prefix: string };
  beforeAll(async () => {
    f.fake = await FakeUpstreamClass.start();
    f.db = await createTestDatabase();
  });
  afterAll(async () => {
    await cleanup();
    await f.fake?.close();
    await f.db?.drop();
    await flushPrefix(f.prefix);
  });
  return f;
}

/** `n` accounts of the fake upstream (tokens valid for an hour), stored in the database as `acct0`, `acct1`, … */
export async function seedFakeAccounts(
  fake: FakeUpstream,
  dbUrl: string,
  n: number,
): Promise<{ id: string; chatgptAccountId: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(seedTarget(dbUrl), {
      ...a,
      accessTokenExpiresAt: a.accessExpiresAt,
      label: `acct${i}`,
    });
    out.push({ id, chatgptAccountId: a.chatgptAccountId });
  }
  return out;
}

/** A short-lived client of any Redis (the shared one, or an OwnRedis by its url). */
export async function redisClient<T>(url: string, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

export async function metricValue(url: string, line: RegExp): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const l of text.split('\n')) if (line.test(l)) sum += Number(l.split(' ').at(-1));
  return sum;
}

/**
 * The refresh token the gateway would present next for an account: the sealed set waiting in Redis
 * (`accounts:pending-tokens:<id>`, written before the database) when there is one, else the row's.
 */
export async function storedRefreshToken(
  dbUrl: string,
  redisUrl: string,
  prefix: string,
  accountId: string,
  encryptionKeys: ConstructorParameters<typeof KeyRing>[0],
): Promise<{ token: string; from: 'redis' | 'postgres' }> {
  const ring = new KeyRing(encryptionKeys);
  const pending = await redisClient(redisUrl, (c) => c.get(`${prefix}accounts:pending-tokens:${accountId}`));
  if (pending) {
    const p = JSON.parse(pending) as { keyId: string; data: string };
    const t = JSON.parse(ring.open(Buffer.from(p.data, 'base64'), p.keyId, accountId).toString('utf8'));
    return { token: t.refresh_token, from: 'redis' };
  }
  const [row] = await query(dbUrl, `SELECT credentials, "credentialsKeyId" FROM accounts WHERE id = $1`, [
    accountId,
  ]);
  const t = JSON.parse(ring.open(row.credentials, row.credentialsKeyId, accountId).toString('utf8'));
  return { token: t.refresh_token, from: 'postgres' };
}
