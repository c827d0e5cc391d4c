import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { ACCOUNTS_QUEUE } from '../src/accounts/accounts.queue.js';
import { checkRedis } from '../src/startup/preflight.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { call } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { seedAccount } from './support/accounts.js';
import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import type { FakeAccount } from './fake-upstream/index.ts';
import {
  freePort,
  makeCertificates,
  redisCall,
  RedisFarm,
  type RedisProcess,
} from './support/redis-servers.js';

/**
 * Redis as teams run it (issue 27, item 1), against real redis-server processes this file starts: a master, a
 * replica and three sentinels (failover under two gateway replicas serving model requests from the fake upstream:
 * requests fail only inside the window and never after it, no account loses its status, a per-key RPM is exact on
 * the new master, pub/sub key-cache invalidation and BullMQ continue without a restart, and a 401 storm right after
 * it refreshes each account once with one scheduled job each; the windows are printed as `[faults]` lines), TLS with a test-made CA,
 * an ACL user that may not run INFO/CONFIG (managed Redis), and the start-up refusals (bad sentinel name, bad CA
 * file, a cluster) of the built entry point: one plain line naming the setting, no stack.
 */
const MAIN = join(process.cwd(), 'dist', 'main.js');
const STACK_FRAME = /^\s+at /m;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MASTER = 'cgmaster';

describe('Redis through Sentinel: a failover is followed without a restart', () => {
  const farm = new RedisFarm();
  const fake = useFakeUpstream({ reset: false });
  let master: RedisProcess;
  let sentinels: RedisProcess[];
  let gw1: TestGateway;
  let gw2: TestGateway;
  const accts: { fake: FakeAccount; id: string }[] = [];

  beforeAll(async () => {
    master = await farm.server();
    await farm.server(['--replicaof', '127.0.0.1', String(master.port)]);
    sentinels = await Promise.all([0, 1, 2].map(() => farm.sentinel(master.port, MASTER, 2)));
    // The sentinels must know the replica and each other before a failover can happen.
    const until = Date.now() + 20_000;
    for (;;) {
      const seen = await Promise.all(
        sentinels.map((s) =>
          redisCall({ port: s.port }, async (c) => {
            const replicas = (await c.call('SENTINEL', 'replicas', MASTER)) as unknown[];
            const peers = (await c.call('SENTINEL', 'sentinels', MASTER)) as unknown[];
            return replicas.length === 1 && peers.length === 2;
          }),
        ),
      );
      if (seen.every(Boolean)) break;
      if (Date.now() > until) throw new Error('sentinels never saw the replica and each other');
      await sleep(200);
    }
    const env = {
      REDIS_URL: 'redis://127.0.0.1:1', // host and port unused with Sentinel
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: MASTER,
      ...fakeEnv(fake),
      POOL_STRATEGY: 'round-robin',
    };
    gw1 = await startGateway({ env, role: 'all' });
    gw2 = await startGateway({ env, role: 'serve', shareWith: gw1 });
    for (let i = 0; i < 2; i++) {
      const a = fake.addAccount();
      accts.push({ fake: a, id: await seedAccount(gw1, { ...a, accessTokenExpiresAt: a.accessExpiresAt }) });
    }
  }, 60_000);

  afterAll(async () => {
    await gw2?.close();
    await gw1?.close();
    await farm.stopAll();
  });

  it('SIGKILL of the master under model load: errors only inside the window, then requests, limits, pub/sub, BullMQ and one refresh per account', async () => {
    const admin = await createAdminKey(gw1);
    const user = await createKey(gw1, { rpm: 100_000 });
    const doomed = await createKey(gw1, { rpm: 100_000 });
    for (const gw of [gw1, gw2]) {
      expect((await call(gw, 'GET', '/v1/me', { key: user.key })).status).toBe(200);
      expect((await call(gw, 'GET', '/v1/me', { key: doomed.key })).status).toBe(200);
      expect((await call(gw, 'GET', '/readyz')).status).toBe(200);
    }
    const before = (await call(gw1, 'GET', '/v1/me', { key: user.key })).body;
    expect(before.usage).toBeTruthy();
    for (const gw of [gw1, gw2]) expect((await modelCall(gw, user.key)).status).toBe(200);

    // Model requests through both replicas the whole time (4 loops), each recorded with when it started.
    const model: { at: number; end: number; status: number }[] = [];
    let loading = true;
    const loops = [0, 1, 2, 3].map(async (i) => {
      while (loading) {
        const at = Date.now();
        const r = await modelCall(i % 2 ? gw2 : gw1, user.key).catch(() => ({ status: 0 }));
        model.push({ at, end: Date.now(), status: r.status });
        await sleep(10);
      }
    });
    await sleep(300);

    const killedAt = Date.now();
    await master.kill('SIGKILL');
    const failures: number[] = [];
    let okStreak = 0;
    let calls = 0;
    let last = '';
    // /v1/me reads the key's usage counters from Redis, /readyz pings it: both fail while there is no master.
    while (okStreak < 20) {
      if (Date.now() - killedAt > 30_000)
        throw new Error(
          `no recovery within 30 s (${failures.length} failures, last ${last}); sentinel says ` +
            JSON.stringify(
              await redisCall({ port: sentinels[0].port }, (c) =>
                c.call('SENTINEL', 'get-master-addr-by-name', MASTER),
              ),
            ) +
            ` (killed ${master.port}); readyz ${(await call(gw2, 'GET', '/readyz')).text}\n` +
            gw1.logs.lines
              .filter((l) => !l.includes('"msg":"request"'))
              .slice(-15)
              .join('\n'),
        );
      const t = Date.now();
      const [a, b] = await Promise.all([
        call(gw1, 'GET', '/v1/me', { key: user.key }).then(
          (r) => r.status,
          () => 0,
        ),
        call(gw2, 'GET', '/readyz').then(
          (r) => r.status,
          () => 0,
        ),
      ]);
      calls += 2;
      last = `${a}/${b}`;
      if (a === 200 && b === 200) okStreak++;
      else {
        okStreak = 0;
        failures.push(t);
      }
      await sleep(25);
    }
    const windowMs = failures.length ? failures[failures.length - 1] - killedAt : 0;
    const recoveredAt = Date.now();
    await sleep(1_000);
    loading = false;
    await Promise.all(loops);
    const modelFailures = model.filter((m) => m.status !== 200);
    const lateFailures = modelFailures.filter((m) => m.at > recoveredAt);
    const modelWindowMs = modelFailures.length ? Math.max(...modelFailures.map((m) => m.at)) - killedAt : 0;
    const statuses: Record<string, number> = {};
    for (const m of model) statuses[m.status] = (statuses[m.status] ?? 0) + 1;
    const newMaster = await redisCall({ port: sentinels[0].port }, (c) =>
      c.call('SENTINEL', 'get-master-addr-by-name', MASTER),
    );
    process.stdout.write(
      `[faults] sentinel failover (3 sentinels, down-after 1000 ms): error window ${windowMs} ms after SIGKILL ` +
        `of the master, ${failures.length}/${calls} probe calls failed, new master ${String(newMaster)}\n`,
    );
    process.stdout.write(
      `[faults] sentinel failover under model load (4 loops over 2 replicas, 2 accounts): ${model.length} ` +
        `requests ${JSON.stringify(statuses)}, failures only up to ${modelWindowMs} ms after SIGKILL, ` +
        `${lateFailures.length} after the probes recovered\n`,
    );
    expect(Number((newMaster as string[])[1])).not.toBe(master.port);
    // Bounded: 1 s down-after + election + reconnect. Generous for a loaded 2-core machine.
    expect(windowMs).toBeLessThan(15_000);
    // Model requests fail only inside the window: none that was answered before the kill, none that started after
    // the probes recovered (one in flight at the kill may fail, as may one answered just after recovery), never
    // with a hang; the outage did not cost an account its status.
    expect(model.filter((m) => m.end < killedAt && m.status !== 200)).toEqual([]);
    expect(lateFailures).toEqual([]);
    expect(modelWindowMs).toBeLessThan(15_000);
    expect(model.filter((m) => m.at > recoveredAt).length).toBeGreaterThan(0);
    const rows = await query(gw1, `SELECT status FROM accounts`);
    expect(rows.map((r) => r.status)).toEqual(['active', 'active']);

    // Limits on the new master: a 5 rpm key across both replicas, 8 parallel → exactly 5 answered.
    const limited = await createKey(gw1, { rpm: 5 });
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) => modelCall(i % 2 ? gw2 : gw1, limited.key).then((r) => r.status)),
    );
    expect(burst.filter((s) => s === 200)).toHaveLength(5);
    expect(burst.filter((s) => s === 429)).toHaveLength(3);

    // Refresh after the failover: every access token expired at once, 12 concurrent requests over both replicas →
    // one refresh per account (the lock lives on the new master), no reuse, and one scheduled job per account.
    const refreshesBefore = accts.map((a) => fake.refreshCount(a.fake.chatgptAccountId));
    for (const a of accts) fake.revokeAccessToken(a.fake.chatgptAccountId);
    await query(gw1, `UPDATE accounts SET "accessTokenExpiresAt" = now() - interval '1 second'`);
    const storm = await Promise.all(
      Array.from({ length: 12 }, (_, i) => modelCall(i % 2 ? gw2 : gw1, user.key).then((r) => r.status)),
    );
    expect(storm.every((s) => s === 200)).toBe(true);
    const refreshes = accts.map((a, i) => fake.refreshCount(a.fake.chatgptAccountId) - refreshesBefore[i]);
    expect(refreshes).toEqual([1, 1]);
    expect(fake.refreshOutcomes().refresh_token_reused ?? 0).toBe(0);
    const queueAfter = gw1.app.get<Queue>(getQueueToken(ACCOUNTS_QUEUE));
    const delayed = await eventuallyJobs(queueAfter, accts.length);
    for (const a of accts) expect(delayed.filter((id) => id.startsWith(`refresh-${a.id}-`))).toHaveLength(1);

    // Pub/sub: a revocation through one replica reaches the other's key cache (its subscriber followed too).
    const revoked = await call(gw1, 'DELETE', `/admin/api/keys/${doomed.keyId}`, { key: admin.key });
    expect(revoked.status).toBe(200);
    const until = Date.now() + 1_000;
    let status = 200;
    while (Date.now() < until && status !== 401) {
      status = (await call(gw2, 'GET', '/v1/me', { key: doomed.key })).status;
      if (status !== 401) await sleep(25);
    }
    expect(status).toBe(401);

    // BullMQ: a job added through the queue after the failover is taken by the worker (its blocking connection
    // followed). An unknown job name completes with null.
    const queue = gw1.app.get<Queue>(getQueueToken(ACCOUNTS_QUEUE));
    const job = await queue.add('failover-probe', {}, { removeOnComplete: false });
    const jobUntil = Date.now() + 15_000;
    let state = await job.getState();
    while (state !== 'completed' && Date.now() < jobUntil) {
      await sleep(100);
      state = await job.getState();
    }
    expect(state).toBe('completed');
    // No error escaped the outage handling (BullMQ and ioredis errors are folded into the outage log).
    expect(gw1.logs.text).not.toMatch(/unhandled/i);
  }, 60_000);
});

function modelCall(gw: TestGateway, key: string) {
  return call(gw, 'POST', '/v1/responses', {
    key,
    // A conversation per request, so the pool spreads them (one conversation stays on its account).
    body: { model: 'gpt-5.5', input: 'hi', stream: false, prompt_cache_key: `sentinel-${randomUUID()}` },
  });
}

async function query(gw: TestGateway, sql: string): Promise<Record<string, unknown>[]> {
  const pg = await import('pg');
  const c = new pg.default.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** The ids of the queue's delayed refresh jobs, once there are at least `n` of them (the refreshes reschedule). */
async function eventuallyJobs(queue: Queue, n: number): Promise<string[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const ids = (await queue.getDelayed()).map((j) => j.id ?? '').filter((id) => id.startsWith('refresh-'));
    if (ids.length >= n || Date.now() > until) return ids;
    await sleep(100);
  }
}

interface Run {
  child: ChildProcess;
  out(): string;
  exit: Promise<number | null>;
}

function runMain(env: Record<string, string>, command = 'serve'): Run {
  const child = spawn(process.execPath, [MAIN, command], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
      CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex',
      OPENAI_AUTH_ISSUER: 'http://127.0.0.1:9',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

async function exitWithin(r: Run, ms: number): Promise<number | null> {
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
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
}

async function waitForOutput(r: Run, pattern: RegExp, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(r.out())) {
    if (r.child.exitCode !== null)
      throw new Error(`exited (${r.child.exitCode}) before ${pattern}:\n${r.out()}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}:\n${r.out()}`);
    await sleep(50);
  }
}

const built = existsSync(MAIN);
const d = built ? describe : describe.skip;

d(
  'Redis over TLS with an ACL user that may not run INFO or CONFIG (managed Redis), and start-up refusals',
  () => {
    const farm = new RedisFarm();
    let db: TestDatabase;
    let tlsPort: number;
    let certs: ReturnType<typeof makeCertificates>;
    const PASSWORD = 'aclSecret_9Jq2';

    beforeAll(async () => {
      db = await createTestDatabase();
      certs = makeCertificates(farm.dir);
      tlsPort = await freePort();
      await farm.server(
        [
          '--tls-cert-file',
          certs.certFile,
          '--tls-key-file',
          certs.keyFile,
          '--tls-ca-cert-file',
          certs.caFile,
          '--tls-auth-clients',
          'no',
          '--user',
          'default',
          'off',
          '--user',
          'gateway',
          'on',
          `>${PASSWORD}`,
          '~*',
          '&*',
          '+@all',
          '-info',
          '-config',
          '-cluster',
          '-debug',
        ],
        { port: tlsPort, tlsPing: { tls: { ca: readFileSync(certs.caFile) } } },
      );
    }, 60_000);

    afterAll(async () => {
      await db?.drop();
      await farm.stopAll();
    }, 60_000);

    it('serves through rediss:// + REDIS_TLS_CA_FILE as an ACL user without INFO: no warnings, requests answered', async () => {
      const redisUrl = `rediss://gateway:${PASSWORD}@127.0.0.1:${tlsPort}`;
      // What the start-up check finds out: reachable, not a cluster, INFO refused.
      let facts: { infoAllowed: boolean } | undefined;
      const problem = await checkRedis(
        { REDIS_URL: redisUrl, REDIS_TLS_CA_FILE: certs.caFile },
        { onFacts: (f) => (facts = f) },
      );
      expect(problem).toBeUndefined();
      expect(facts).toEqual({ infoAllowed: false });
      // The ACL really forbids it (else this test proves nothing).
      const refused = await redisCall(
        { port: tlsPort, username: 'gateway', password: PASSWORD, tls: { ca: readFileSync(certs.caFile) } },
        (c) =>
          c.info().then(
            () => 'allowed',
            (e: Error) => e.message,
          ),
      );
      expect(refused).toMatch(/NOPERM/);

      const port = await freePort();
      const r = runMain(
        {
          DATABASE_URL: db.url,
          REDIS_URL: redisUrl,
          REDIS_TLS_CA_FILE: certs.caFile,
          PORT: String(port),
          REDIS_KEY_PREFIX: `cgt:tls${port}:`,
        },
        'all',
      );
      try {
        await waitForOutput(r, /"msg":"listening"/);
        const base = `http://127.0.0.1:${port}`;
        const ready = await fetch(`${base}/readyz`);
        expect(ready.status).toBe(200);
        // The worker's BullMQ connections came up too (sweep scheduler written under the prefix, through TLS).
        const until = Date.now() + 15_000;
        let keys: string[] = [];
        while (Date.now() < until && !keys.some((k) => k.includes('bull'))) {
          keys = await redisCall(
            {
              port: tlsPort,
              username: 'gateway',
              password: PASSWORD,
              tls: { ca: readFileSync(certs.caFile) },
            },
            (c) => c.keys(`cgt:tls${port}:*`),
          );
          await sleep(200);
        }
        expect(keys.some((k) => k.includes('bull'))).toBe(true);
        const out = r.out();
        expect(out).not.toMatch(/Skipping the ready check|NOPERM|INFO command|version/i);
        expect(out).not.toContain(PASSWORD);
      } finally {
        r.child.kill('SIGTERM');
        await exitWithin(r, 20_000).catch(() => null);
      }
    }, 60_000);

    const refusals: [string, () => Record<string, string>, RegExp, string][] = [
      [
        'a CA file that does not exist',
        () => ({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }),
        /REDIS_TLS_CA_FILE: cannot read \/nonexistent\/ca\.pem \(no such file\)/,
        'REDIS_TLS_CA_FILE',
      ],
      [
        'a CA that did not sign the server certificate',
        () => ({
          REDIS_URL: `rediss://gateway:${PASSWORD}@127.0.0.1:${tlsPort}`,
          REDIS_TLS_CA_FILE: certs.otherCaFile,
        }),
        /TLS certificate of Redis at 127\.0\.0\.1:\d+ was not accepted/,
        'REDIS_TLS_CA_FILE',
      ],
    ];
    it.each(refusals)(
      'refuses %s: one plain line naming the setting, no stack, exits',
      async (_what, env, text, setting) => {
        const r = runMain({ DATABASE_URL: db.url, ...env() });
        const code = await exitWithin(r, 20_000);
        const out = r.out();
        expect(code).not.toBe(0);
        expect(out).toMatch(text);
        expect(out).toContain(setting);
        expect(out).not.toMatch(STACK_FRAME);
        expect(out).not.toContain(PASSWORD);
        expect(out.trim().split('\n')).toHaveLength(1);
      },
      30_000,
    );

    it('refuses an unknown sentinel master name, unreachable sentinels and a Redis Cluster at start', async () => {
      const plain = await farm.server();
      const sentinel = await farm.sentinel(plain.port, MASTER, 1);
      const cluster = await farm.server([
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${Date.now()}.conf`,
      ]);
      const dead = await freePort();
      const cases: [Record<string, string>, RegExp, string][] = [
        [
          { REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'nosuchmaster' },
          /no sentinel of REDIS_SENTINELS knows a master named "nosuchmaster"/,
          'REDIS_SENTINEL_NAME',
        ],
        [
          { REDIS_URL: `redis://127.0.0.1:${cluster.port}` },
          /runs in cluster mode, which the gateway does not support/,
          'REDIS_URL',
        ],
      ];
      for (const [env, text, setting] of cases) {
        const r = runMain({ DATABASE_URL: db.url, ...env });
        const code = await exitWithin(r, 20_000);
        const out = r.out();
        expect(code).toBe(3);
        const lines = out.trim().split('\n');
        expect(lines).toHaveLength(1);
        const line = JSON.parse(lines[0]);
        expect(line).toMatchObject({ level: 'fatal', setting });
        expect(line.msg).toMatch(text);
        expect(out).not.toMatch(STACK_FRAME);
      }
      // Unreachable sentinels are an outage, not a wrong setting: production waits (naming REDIS_SENTINELS).
      const r = runMain({
        DATABASE_URL: db.url,
        REDIS_SENTINELS: `127.0.0.1:${dead}`,
        REDIS_SENTINEL_NAME: MASTER,
      });
      try {
        await waitForOutput(
          r,
          /cannot reach any sentinel of REDIS_SENTINELS: 127\.0\.0\.1:\d+ connection refused/,
        );
        expect(r.out()).toContain('"setting":"REDIS_SENTINELS"');
        expect(r.out()).not.toMatch(STACK_FRAME);
      } finally {
        r.child.kill('SIGKILL');
        await r.exit;
      }
    }, 60_000);
  },
);
