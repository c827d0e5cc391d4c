// Gateway CPU time per request (user + system, from /proc/<pid>/stat), the measure least moved by other load on a
// shared machine: throughput ratios swing 2× between runs there, CPU time per request much less (docs/bench.md).
// Starts the bench set-up (`node bench/run.mjs --serve`, inheriting the environment, e.g. OTEL_* to turn tracing
// on), warms up, then runs ROUNDS autocannon rounds of SECONDS on /v1/responses (stream) and prints the gateway's
// CPU ms per request of each round and their median.
//   node bench/cpu-per-request.mjs [--rounds=5] [--seconds=6] [--connections=16] [--rate=RPS] [--node-options="…"]
// (--node-options goes to the gateway, e.g. "--cpu-prof --cpu-prof-dir=DIR": the profile is written when it stops.)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autocannon } from './lib.mjs';

const arg = (name, dflt) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const rounds = arg('rounds', 5);
const seconds = arg('seconds', 6);
const connections = arg('connections', 16);
/** Fixed overall rate (requests/s) for the measured rounds; 0 = as fast as the connections allow. CPU per request
 * falls as the rate rises (fixed costs are shared), so compare runs at the same fixed rate. */
const rate = arg('rate', 0);
const TICK_MS = 10; // USER_HZ = 100 on Linux

const nodeOptions = process.argv.find((a) => a.startsWith('--node-options='));
const serve = spawn(process.execPath, ['bench/run.mjs', '--serve', ...(nodeOptions ? [nodeOptions] : [])], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const info = await new Promise((resolve, reject) => {
  let buf = '';
  serve.stdout.on('data', (d) => {
    buf += d;
    for (const line of buf.split('\n')) if (line.startsWith('{"gateway"')) resolve(JSON.parse(line));
  });
  serve.on('exit', (c) => reject(new Error(`bench --serve exited ${c}`)));
});
const cpuMs = () => {
  const f = readFileSync(`/proc/${info.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
};
const tmp = mkdtempSync(join(tmpdir(), 'cg-cpu-'));
const resp = {
  url: `${info.gateway}/v1/responses`,
  headers: { authorization: `Bearer ${info.key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'gpt-5.5', input: 'benchmark me', stream: true }),
  tmp,
  connections,
};
await autocannon({ ...resp, duration: 4 }); // warm-up
const out = [];
for (let i = 0; i < rounds; i++) {
  const before = cpuMs();
  const r = await autocannon({ ...resp, duration: seconds, ...(rate ? { rate } : {}) });
  const used = cpuMs() - before;
  out.push({
    requests: r.total,
    rps: Math.round(r.rps),
    cpuMsPerRequest: +(used / r.total).toFixed(3),
    non2xx: r.non2xx,
  });
  console.error(`[cpu] round ${i + 1}: ${JSON.stringify(out.at(-1))}`);
}
const sorted = out.map((o) => o.cpuMsPerRequest).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    tracing: !!process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
    median: sorted[Math.floor(sorted.length / 2)],
    rounds: out,
  }),
);
serve.kill('SIGTERM');
await new Promise((r) => serve.on('exit', r));
