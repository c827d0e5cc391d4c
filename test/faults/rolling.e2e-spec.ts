import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdminKey, createKey } from '../support/auth.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import {
  faultFixture,
  freePort,
  gatewayEnv,
  GatewayProc,
  hasBuild,
  query,
  report,
  seedFakeAccounts,
  seedTarget,
  sleep,
  waitFor,
} from './support.js';

/**
 * Scenario 7 — a rolling restart under load behind a real load balancer (Debian's HAProxy, with the configuration
 * shipped in deploy/haproxy/haproxy.cfg): three `serve` processes and one `worker`, built; 300 streams held open
 * at all times (each is held HOLD_MS at the upstream before its terminal event, then the next one starts) plus
 * steady short requests; the three API processes restarted one after another (SIGTERM → its streams finish → exit
 * → a new process on the same port → HAProxy sees /readyz answer 200). Then: no client request failed or was cut,
 * the usage rows are exactly the answered requests (by request id: none lost, none doubled), a per-key RPM limit
 * hit during a restart admits exactly its limit across the replicas, and a key revoked through one replica is
 * refused by all three within 1 s.
 */
const HAPROXY = '/usr/sbin/haproxy';
const DRAIN_DELAY_MS = 3_000;
const STREAMS = 300;
const HOLD_MS = 6000;
const SHORT_LOOPS = 4;
const RPM = 60;
const RPM_BURST = 75;

interface Answer {
  id: string;
  status: string;
  complete: boolean;
  servedBy: string;
  error?: string;
}

async function send(base: string, key: string, stream: boolean): Promise<Answer> {
  // Until an answer names the gateway's own request id (the usage row's; a client's x-request-id is only logged).
  let id = `unanswered_${randomUUID().replace(/-/g, '')}`;
  try {
    const r = await fetch(`${base}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-5.5',
        input: stream ? 'hold this stream' : 'hi',
        stream,
        prompt_cache_key: `roll-${randomUUID()}`,
      }),
      signal: AbortSignal.timeout(HOLD_MS + 30_000),
    });
    id = r.headers.get('x-request-id') ?? id;
    const text = await r.text();
    // A stream is whole when its terminal event arrived; a JSON answer when it parses as a completed response.
    const complete = stream
      ? text.includes('event: response.completed')
      : r.status === 200 && (JSON.parse(text) as { status?: string }).status === 'completed';
    return { id, status: String(r.status), complete, servedBy: r.headers.get('x-served-by') ?? '?' };
  } catch (err) {
    return {
      id,
      status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'neterr',
      complete: false,
      servedBy: '?',
      error: `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`.trim(),
    };
  }
}

/** HAProxy's runtime API on its stats socket: `show stat` as rows keyed by column name. */
async function haproxyStat(socket: string): Promise<Record<string, string>[]> {
  const raw = await new Promise<string>((resolve, reject) => {
    let out = '';
    const c = connect(socket, () => c.write('show stat\n'));
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
  const [head, ...lines] = raw.trim().split('\n');
  const cols = head.replace(/^# /, '').split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

(hasBuild && existsSync(HAPROXY) ? describe : describe.skip)('faults: rolling restart behind HAProxy', () => {
  const procs: GatewayProc[] = [];
  let lb: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cg-haproxy-'));
  const f = faultFixture(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    if (lb && lb.exitCode === null) {
      const exited = new Promise((r) => lb!.once('exit', r));
      lb.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${STREAMS} held streams + short requests, 3 API processes restarted one by one → nothing lost`, async () => {
    const { fake, db, prefix } = f;
    fake.configure({ record: false, holdFor: (text) => (text.includes('hold') ? HOLD_MS : 0) });
    const target = seedTarget(db.url);
    await seedFakeAccounts(fake, db.url, 3);
    const load = await createKey(target, { rpm: 1_000_000, name: 'load' });
    const limited = await createKey(target, { rpm: RPM, name: 'rpm' });
    const doomed = await createKey(target, { name: 'revoked' });
    const admin = await createAdminKey(target);
    const env = gatewayEnv(
      fake,
      { db: db.url, redis: TEST_REDIS_URL, prefix },
      {
        SHUTDOWN_GRACE_MS: String(HOLD_MS + 20_000),
        // Readiness first: /readyz says 503 for 3 s before the listener closes, longer than HAProxy needs to mark
        // the server DOWN (3 checks × 500 ms), so no new request reaches a draining process at all.
        SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
        POOL_STRATEGY: 'round-robin',
      },
    );
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const start = async (i: number) => {
      const p = await GatewayProc.start('serve', env, { port: ports[i] });
      procs.push(p);
      return p;
    };
    const apis = await Promise.all([0, 1, 2].map(start));
    procs.push(await GatewayProc.start('worker', env));

    // HAProxy with the shipped configuration (FAULTS_HAPROXY_CFG: another one, to compare), in the foreground.
    const lbPort = await freePort();
    const socket = join(dir, 'admin.sock');
    const cfg = readFileSync(process.env.FAULTS_HAPROXY_CFG ?? 'deploy/haproxy/haproxy.cfg', 'utf8')
      .replace('${STATS_SOCKET}', socket)
      .replace('${BIND}', `127.0.0.1:${lbPort}`)
      .replace('${SERVERS}', ports.map((p, i) => `  server api${i + 1} 127.0.0.1:${p}`).join('\n'));
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    let lbOut = '';
    lb = spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    lb.stdout!.on('data', (d) => (lbOut += d));
    lb.stderr!.on('data', (d) => (lbOut += d));
    const base = `http://127.0.0.1:${lbPort}`;
    const upCount = async () =>
      (await haproxyStat(socket)).filter(
        (r) => r.pxname === 'api' && /^api\d$/.test(r.svname) && r.status === 'UP',
      ).length;
    await waitFor('HAProxy with 3 servers UP', async () => (await upCount()) === 3, 20_000);

    // ---- load: STREAMS streams held open at all times, SHORT_LOOPS loops of short requests
    const answers: { stream: boolean; a: Answer }[] = [];
    let running = true;
    const loop = (stream: boolean, pauseMs: number) =>
      (async () => {
        while (running) {
          answers.push({ stream, a: await send(base, load.key, stream) });
          if (pauseMs) await sleep(pauseMs);
        }
      })();
    const loops = [
      ...Array.from({ length: STREAMS }, () => loop(true, 0)),
      ...Array.from({ length: SHORT_LOOPS }, () => loop(false, 50)),
    ];
    const openAtStart = await waitFor(
      `${STREAMS} streams open at the upstream`,
      () => fake.openStreams >= STREAMS,
      30_000,
    );

    // ---- the rolling restart
    const restarts: {
      replica: number;
      drainMs: number;
      exit: number | null;
      readyMs: number;
      openAtSigterm: number;
    }[] = [];
    let rpmAnswers: Answer[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      const old = apis[i];
      const openAtSigterm = fake.openStreams;
      const tStop = Date.now();
      const exited = old.kill('SIGTERM');
      // The per-key limit, hit while a replica drains: exactly RPM of the burst may pass, whichever replica.
      if (i === 1)
        rpmAnswers = await Promise.all(
          Array.from({ length: RPM_BURST }, () => send(base, limited.key, false)),
        );
      const exit = await exited;
      const drainMs = Date.now() - tStop;
      const tStart = Date.now();
      apis[i] = await start(i);
      await waitFor(`api${i + 1} UP again at HAProxy`, async () => (await upCount()) === 3, 20_000);
      restarts.push({ replica: i + 1, drainMs, exit, readyMs: Date.now() - tStart, openAtSigterm });
    }
    const rollingMs = Date.now() - t0;
    // Some load on the new processes, then stop and let every loop finish its request.
    await sleep(2000);
    running = false;
    await Promise.all(loops);

    // ---- revocation through one replica, refused by all three within 1 s
    for (const api of apis)
      expect(
        (await fetch(`${api.url}/v1/models`, { headers: { authorization: `Bearer ${doomed.key}` } })).status,
      ).toBe(200);
    const del = await fetch(`${apis[0].url}/admin/api/keys/${doomed.keyId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    expect(del.status).toBeLessThan(300);
    const tRevoke = Date.now();
    const refusedAfter = await Promise.all(
      apis.map((api) =>
        waitFor(
          `revocation on ${api.url}`,
          async () =>
            (await fetch(`${api.url}/v1/models`, { headers: { authorization: `Bearer ${doomed.key}` } }))
              .status === 401,
          5000,
          20,
        ).then(() => Date.now() - tRevoke),
      ),
    );

    // ---- what the clients saw, what was recorded
    const streams = answers.filter((x) => x.stream).map((x) => x.a);
    const shorts = answers.filter((x) => !x.stream).map((x) => x.a);
    const tally = (list: Answer[]) => {
      const t: Record<string, number> = {};
      for (const a of list) t[a.status] = (t[a.status] ?? 0) + 1;
      return t;
    };
    const failed = answers.filter((x) => x.a.status !== '200' || !x.a.complete);
    const answered = answers.filter((x) => x.a.status === '200').map((x) => x.a.id);
    // The usage writer batches: wait until the rows stop growing (every process that exited flushed first).
    let rows: { requestId: string; n: number }[] = [];
    let last = -1;
    await waitFor(
      'usage rows settled',
      async () => {
        rows = await query(
          db.url,
          `SELECT "requestId", count(*)::int AS n FROM usage_records WHERE "keyId" = $1 GROUP BY 1`,
          [load.keyId],
        );
        const total = rows.reduce((s, r) => s + r.n, 0);
        const settled = total === last && total >= answered.length;
        last = total;
        return settled;
      },
      20_000,
      1000,
    );
    const recorded = new Set(rows.map((r) => r.requestId));
    const lost = answered.filter((id) => !recorded.has(id));
    const doubled = rows.filter((r) => r.n > 1).length;
    const answeredSet = new Set(answered);
    const unanswered = rows.filter((r) => !answeredSet.has(r.requestId)).length;
    const rpmTally = tally(rpmAnswers);
    const rpmServedBy = new Set(rpmAnswers.filter((a) => a.status === '200').map((a) => a.servedBy));
    const [{ n: rpmRows }] = await query<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM usage_records WHERE "keyId" = $1 AND status = 200`,
      [limited.keyId],
    );
    const stat = await haproxyStat(socket);
    const backend = stat.find((r) => r.pxname === 'api' && r.svname === 'BACKEND')!;
    // HAProxy's log line per request (option httplog): what it answered itself and why (termination state).
    const lbErrors: Record<string, number> = {};
    for (const m of lbOut.matchAll(/ (\S+)\/(\S+) \S+ (\d{3}) \d+ \S+ \S+ (\S{4}) /g))
      if (m[3] !== '200' || m[4] !== '----')
        lbErrors[`${m[3]}:${m[2]}:${m[4]}`] = (lbErrors[`${m[3]}:${m[2]}:${m[4]}`] ?? 0) + 1;
    const lbDown = [...lbOut.matchAll(/^\[WARNING\].*Server api\/(api\d) is DOWN, reason: ([^,]+)/gm)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    const servedBy: Record<string, number> = {};
    for (const x of answers) servedBy[x.a.servedBy] = (servedBy[x.a.servedBy] ?? 0) + 1;

    report('rolling-restart', {
      processes: '3 serve + 1 worker behind HAProxy 2.6',
      heldStreams: STREAMS,
      holdMs: HOLD_MS,
      streamsOpenBeforeRestartAfterMs: openAtStart,
      maxOpenStreamsAtUpstream: fake.maxOpenStreams,
      rollingMs,
      restarts: restarts
        .map(
          (r) =>
            `api${r.replica}:open=${r.openAtSigterm},drain=${r.drainMs}ms,exit=${r.exit},ready=${r.readyMs}ms`,
        )
        .join(' '),
      streams: tally(streams),
      shortRequests: tally(shorts),
      failedOrTruncated: failed.length,
      answered: answered.length,
      usageRows: rows.reduce((s, r) => s + r.n, 0),
      lost: lost.length,
      doubled,
      rowsWithoutAnswer: unanswered,
      rpm: `${RPM}/min burst=${RPM_BURST} -> ${JSON.stringify(rpmTally)} via ${[...rpmServedBy].sort().join('+')} rows200=${rpmRows}`,
      revocationRefusedAfterMs: refusedAfter.join(','),
      haproxyRetries: backend.wretr,
      haproxyRedispatches: backend.wredis,
      servedBy,
      lbNon200: lbErrors,
      lbDown,
      clientErrors: [...new Set(failed.map((x) => x.a.error ?? x.a.status))],
    });

    expect(failed.slice(0, 5)).toEqual([]);
    expect(streams.length).toBeGreaterThan(STREAMS);
    expect(shorts.length).toBeGreaterThan(0);
    expect(restarts.every((r) => r.exit === 0)).toBe(true);
    // each restarted replica held streams of its own when it was told to stop
    expect(restarts.every((r) => r.drainMs >= 1000)).toBe(true);
    expect(lost).toEqual([]);
    expect(doubled).toBe(0);
    expect(unanswered).toBe(0);
    expect(rpmTally).toEqual({ '200': RPM, '429': RPM_BURST - RPM });
    expect(rpmServedBy.size).toBeGreaterThanOrEqual(2);
    expect(rpmRows).toBe(RPM);
    expect(Math.max(...refusedAfter)).toBeLessThan(1000);
    expect(lbOut).not.toMatch(/\[ALERT\]/);
    // Readiness first: HAProxy took each draining process out on its /readyz 503 (layer 7) while it still
    // listened, so it never had to retry or redispatch a request (before SHUTDOWN_DRAIN_DELAY_MS it did).
    expect(lbDown.sort()).toEqual([
      'api1:Layer7 wrong status',
      'api2:Layer7 wrong status',
      'api3:Layer7 wrong status',
    ]);
    expect([backend.wretr, backend.wredis]).toEqual(['0', '0']);
  }, 300_000);
});
