/**
 * Resident memory of one gateway process (`node dist/main.js all`, built dist/) under a bounded autocannon load
 * of streamed /v1/responses calls against the fake upstream. Prints RSS at idle, its peak and its value at the
 * end, and the throughput: the numbers the Helm chart's requests/limits and docs/scaling.md are sized from.
 * Run: node --experimental-strip-types test/deploy/measure-rss.ts [seconds=60] [connections=50]
 * Held streams: node --experimental-strip-types test/deploy/measure-rss.ts held [streams=500] [holdMs=20000]
 *   opens that many /v1/responses streams at once, each held open by the fake upstream for holdMs before it
 *   answers, and reports RSS while they are all open (memory per open stream).
 */
import { readFileSync } from 'node:fs';
// @ts-expect-error autocannon ships no type declarations (and @types/autocannon is not a dependency)
import autocannon from 'autocannon';
import { authJsonOf, LocalStack, sleep } from './stack.ts';

const held = process.argv[2] === 'held';
const seconds = held ? 0 : Number(process.argv[2] ?? 60);
const connections = held ? 0 : Number(process.argv[3] ?? 50);
const streams = Number(process.argv[3] ?? 500);
const holdMs = Number(process.argv[4] ?? 20000);
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const stack = await LocalStack.start({ LOG_LEVEL: 'warn' });
try {
  const gw = await stack.run('all');
  const pid = gw.child.pid!;
  const admin = await stack.admin(gw.url);
  for (let i = 0; i < 3; i++) {
    const a = stack.fake.addAccount({ chatgptAccountId: `acct-rss-${i}` });
    await admin('POST', '/accounts/import', authJsonOf(a));
  }
  const key = (await admin('POST', '/keys', { name: 'rss' })).key as string;
  await sleep(2000);
  const idle = rssMiB(pid);
  let peak = idle;
  const samples: number[] = [];
  const timer = setInterval(() => {
    const v = rssMiB(pid);
    samples.push(v);
    peak = Math.max(peak, v);
  }, 500);
  if (held) {
    const t0 = Date.now();
    let done = 0;
    const all = Array.from({ length: streams }, () =>
      fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.5', input: 'hold me', stream: true }),
      })
        .then((r) => r.text().then((b) => r.status === 200 && b.includes('response.completed')))
        .finally(() => done++),
    );
    // Sampled shortly before the upstream starts answering: every request that reached the upstream and has
    // not completed is an open client connection + upstream connection held by the gateway.
    while (Date.now() - t0 < holdMs - 2000) await sleep(500);
    const atUpstream = stack.fake.requestsTo('/backend-api/codex/responses').length;
    const open = Math.min(atUpstream, streams - done);
    const whileOpen = rssMiB(pid);
    const ok = (await Promise.all(all)).filter(Boolean).length;
    clearInterval(timer);
    console.log(
      JSON.stringify(
        {
          command: `node --experimental-strip-types test/deploy/measure-rss.ts held ${streams} ${holdMs}`,
          role: 'all',
          streamsRequested: streams,
          openWhenSampled: open,
          completed: ok,
          rssMiB: { idle: Math.round(idle), whileOpen: Math.round(whileOpen), peak: Math.round(peak) },
          kibPerOpenStream: open ? Math.round(((whileOpen - idle) * 1024) / open) : null,
        },
        null,
        2,
      ),
    );
    if (ok < streams * 0.99) process.exitCode = 1;
    await stack.close();
    process.exit();
  }
  const result = await autocannon({
    url: `${gw.url}/v1/responses`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.5', input: 'measure memory please', stream: true }),
  });
  clearInterval(timer);
  const end = rssMiB(pid);
  const non2xx = result.non2xx + result.errors;
  console.log(
    JSON.stringify(
      {
        command: `node --experimental-strip-types test/deploy/measure-rss.ts ${seconds} ${connections}`,
        role: 'all',
        connections,
        seconds,
        requests: result.requests.total,
        reqPerSec: result.requests.average,
        latencyMsP50: result.latency.p50,
        latencyMsP99: result.latency.p99,
        failed: non2xx,
        rssMiB: { idle: Math.round(idle), peak: Math.round(peak), end: Math.round(end) },
      },
      null,
      2,
    ),
  );
  if (non2xx > result.requests.total * 0.01) process.exitCode = 1;
} finally {
  await stack.close();
}
