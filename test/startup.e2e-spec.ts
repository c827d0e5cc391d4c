import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, ADMIN_URL, urlFor, type TestDatabase } from './support/db.js';
import { flushPrefix, testPrefix } from './support/redis.js';

/**
 * A newcomer's first contact with the built entry point (`node dist/main.js all`, run as a child process):
 * what happens when Postgres or Redis is missing, what the console looks like in a terminal and in a pipe,
 * and how fast an idle Ctrl-C ends it. The terminal runs use util-linux `script` as the pseudo-terminal.
 */
const MAIN = join(process.cwd(), 'dist', 'main.js');
const STACK_FRAME = /^\s+at /m;
const PG_SECRET = 'pgSecretPw_7Qx9';
const REDIS_SECRET = 'redisSecretPw_K2m4';

interface Run {
  child: ChildProcess;
  out(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(env: Record<string, string>, opts: { tty?: boolean } = {}): Run {
  const fullEnv = {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_URL: '',
    CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex',
    OPENAI_AUTH_ISSUER: 'http://127.0.0.1:9',
    ...env,
  };
  // `script -qfec CMD /dev/null` runs CMD on a fresh pseudo-terminal and copies what it prints to our pipe; the
  // pipe we hold to its stdin is the keyboard (writing \x03 there is a real Ctrl-C).
  const child = opts.tty
    ? spawn('script', ['-qfec', `exec "${process.execPath}" "${MAIN}" all`, '/dev/null'], {
        env: { ...fullEnv, TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [MAIN, 'all'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out: () => out, exit };
}

async function waitFor(r: Run, pattern: RegExp, ms = 60000): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(r.out())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output:\n${r.out()}`);
    if (r.child.exitCode !== null)
      throw new Error(`exited (${r.child.exitCode}) before ${pattern}:\n${r.out()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function exitWithin(r: Run, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      r.exit,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${r.out()}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const built = existsSync(MAIN);
const d = built ? describe : describe.skip;

d('start-up: plain answers when a dependency is missing', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('Postgres unreachable: exit 3, names DATABASE_URL and how to start it, no stack, no password, JSON only', async () => {
    const r = run({ DATABASE_URL: `postgresql://gateway:${PG_SECRET}@127.0.0.1:1/codex_gateway` });
    const { code } = await exitWithin(r, 50000);
    const out = r.out();
    expect(code).toBe(3);
    expect(out).toContain('cannot reach PostgreSQL at 127.0.0.1:1');
    expect(out).toContain('DATABASE_URL');
    expect(out).toContain('sudo systemctl start postgresql');
    expect(out).toContain('brew services start postgresql@15');
    expect(out).not.toMatch(STACK_FRAME);
    expect(out).not.toContain(PG_SECRET);
    const lines = jsonLines(out);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'fatal',
      setting: 'DATABASE_URL',
      target: '127.0.0.1:1/codex_gateway',
    });
  }, 60_000);

  it('Redis unreachable: exit 3, names REDIS_URL and how to start it, no stack, no password', async () => {
    const r = run({ DATABASE_URL: db.url, REDIS_URL: `redis://:${REDIS_SECRET}@127.0.0.1:1` });
    const { code } = await exitWithin(r, 50000);
    const out = r.out();
    expect(code).toBe(3);
    expect(out).toContain('cannot reach Redis at 127.0.0.1:1');
    expect(out).toContain('REDIS_URL');
    expect(out).toContain('sudo systemctl start redis-server');
    expect(out).toContain('brew services start redis');
    expect(out).not.toContain('PostgreSQL');
    expect(out).not.toMatch(STACK_FRAME);
    expect(out).not.toContain(REDIS_SECRET);
    expect(jsonLines(out)).toHaveLength(1);
  }, 60_000);

  it('both unreachable in a terminal: one readable block per problem, no JSON, no stack, no password', async () => {
    const r = run(
      {
        DATABASE_URL: `postgresql://gateway:${PG_SECRET}@127.0.0.1:1/codex_gateway`,
        REDIS_URL: `redis://:${REDIS_SECRET}@127.0.0.1:1`,
      },
      { tty: true },
    );
    await exitWithin(r, 50000);
    const out = stripAnsi(r.out());
    expect(out).toContain('Codex Gateway cannot start');
    expect(out).toMatch(/✖ cannot reach PostgreSQL at 127\.0\.0\.1:1: .*\(DATABASE_URL\)/);
    expect(out).toMatch(/✖ cannot reach Redis at 127\.0\.0\.1:1: .*\(REDIS_URL\)/);
    expect(out).toContain('Debian/Ubuntu: sudo systemctl start postgresql');
    expect(out).toContain('macOS:         brew services start redis');
    expect(out).not.toMatch(/^\{/m);
    expect(out).not.toMatch(STACK_FRAME);
    expect(out).not.toContain(PG_SECRET);
    expect(out).not.toContain(REDIS_SECRET);
  }, 60_000);

  it('a database without tables: says to run migrate', async () => {
    const name = `cg_startup_empty_${process.pid}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    try {
      const r = run({ DATABASE_URL: urlFor(name) });
      const { code } = await exitWithin(r, 50000);
      expect(code).toBe(3);
      expect(r.out()).toContain(`database ${name} at 127.0.0.1:5432/${name} has no tables yet`);
      expect(r.out()).toContain('node dist/main.js migrate');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.end();
    }
  }, 60_000);

  it('production waits with backoff instead, one line per attempt, and stops on SIGTERM', async () => {
    const r = run({
      NODE_ENV: 'production',
      ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      DATABASE_URL: `postgresql://gateway:${PG_SECRET}@127.0.0.1:1/codex_gateway`,
    });
    await waitFor(r, /"attempt":2/, 45000);
    r.child.kill('SIGTERM');
    await exitWithin(r, 5000);
    const lines = jsonLines(r.out());
    const waits = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('waiting for'));
    expect(waits.length).toBe(lines.length);
    expect(waits.map((l) => l.attempt)).toEqual([1, 2]);
    expect(waits.map((l) => l.retryInMs)).toEqual([1000, 2000]);
    expect(String(waits[0].msg)).toContain('DATABASE_URL');
    expect(r.out()).not.toContain(PG_SECRET);
  }, 60_000);
});

d('start-up: both up', () => {
  let db: TestDatabase;
  let prefix: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = testPrefix();
  });
  afterAll(async () => {
    await db.drop();
    await flushPrefix(prefix);
  });

  it('in a pipe: JSON lines only, no route mapping at info, idle SIGINT exits 0 within 2 s', async () => {
    const r = run({ DATABASE_URL: db.url, REDIS_KEY_PREFIX: prefix });
    await waitFor(r, /"msg":"listening"/);
    // Let the start-up work after listen (worker, sweep scheduling, JIT) settle: "idle" is what is measured
    // (on a loaded 2-core machine that work takes a couple of seconds of wall time).
    await new Promise((res) => setTimeout(res, 3000));
    const t0 = performance.now();
    r.child.kill('SIGINT');
    const { code } = await exitWithin(r, 10000);
    const ms = Math.round(performance.now() - t0);
    process.stdout.write(`idle SIGINT (pipe): exited ${code} after ${ms} ms\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    const lines = jsonLines(r.out());
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['listening', 'shutting down', 'stopped']),
    );
    expect(r.out()).not.toContain('Mapped {');
    expect(r.out()).not.toContain('dependencies initialized');
    expect(r.out()).not.toContain('Codex Gateway is running');
  }, 90_000);

  it('in a terminal: the banner and pretty lines; Ctrl-C exits within 2 s', async () => {
    const r = run({ DATABASE_URL: db.url, REDIS_KEY_PREFIX: prefix }, { tty: true });
    await waitFor(r, /Ctrl-C stops it/);
    await new Promise((res) => setTimeout(res, 3000));
    const t0 = performance.now();
    r.child.stdin!.write('\x03');
    const { code } = await exitWithin(r, 10000);
    const ms = Math.round(performance.now() - t0);
    process.stdout.write(`idle Ctrl-C (terminal): exited ${code} after ${ms} ms\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    const out = stripAnsi(r.out());
    expect(out).toContain('Codex Gateway is running');
    const base = /OpenAI API\s+(http:\/\/localhost:\d+)\/v1/.exec(out)?.[1];
    expect(base).toBeDefined();
    expect(out).toMatch(new RegExp(`Admin\\s+${base}/admin`));
    expect(out).toContain('no admin yet');
    expect(out).toContain(`${base}/admin/api/docs`);
    expect(out).toContain(`${base}/metrics`);
    expect(out).toMatch(/Accounts\s+none yet/);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: listening/m);
    expect(out).toMatch(/\[\d\d:\d\d:\d\d\] INFO: shutting down/); // after the terminal's echo of ^C
    expect(out).not.toMatch(/^\{"level"/m);
  }, 90_000);
});

const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
(built && redisServer ? describe : describe.skip)('start-up: a Redis outage at runtime', () => {
  it('logs one line when it starts and one when it ends, with the duration, and no stack', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cg-redis-'));
    const startRedis = () =>
      // Append-only file in the temp dir: the restarted server has the queue's keys back, as a real one would.
      spawn(
        redisServer!,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'],
        {
          cwd: dir,
          stdio: 'ignore',
        },
      );
    let redis = startRedis();
    const db = await createTestDatabase();
    let r: Run | undefined;
    try {
      await new Promise((res) => setTimeout(res, 300));
      r = run({ DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${port}` });
      await waitFor(r, /"msg":"listening"/);
      await new Promise((res) => setTimeout(res, 500));
      const stopped = new Promise((res) => redis.once('exit', res));
      redis.kill('SIGTERM');
      await stopped;
      await waitFor(r, /redis unreachable/, 10000);
      await new Promise((res) => setTimeout(res, 3000)); // several reconnect rounds of every connection
      redis = startRedis();
      await waitFor(r, /redis reachable again after/, 15000);
      r.child.kill('SIGINT');
      expect((await exitWithin(r, 10000)).code).toBe(0);
      const lines = jsonLines(r.out());
      const down = lines.filter((l) => String(l.msg).startsWith('redis unreachable'));
      const up = lines.filter((l) => String(l.msg).startsWith('redis reachable again'));
      expect(down).toHaveLength(1);
      expect(up).toHaveLength(1);
      expect(up[0].downMs).toBeGreaterThanOrEqual(3000);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
      // The first-run setup link (no admin yet) is a warning of its own; the outage must add exactly one.
      expect(lines.filter((l) => l.level === 'warn' && l.context !== 'setup')).toHaveLength(1);
      expect(r.out()).not.toMatch(STACK_FRAME);
    } finally {
      if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
      redis.kill('SIGKILL');
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
