// RSS of the built gateway right after start, per role (and per NODE_OPTIONS variant): a fresh database, the
// role started as its own process (NODE_ENV=production, LOG_LEVEL=warn), RSS read from /proc 3 s after /readyz
// (the worker: /metrics) answers. Each variant is started --repeat times and the median printed, in MiB.
//
//   node bench/memory.mjs [--roles=all,serve,worker] [--repeat=3] [--settle=3000]
//                         [--variants="--max-semi-space-size=8|--max-semi-space-size=8 --max-old-space-size=256"]
//                         [--heap]   also print V8's heap used / total (from /metrics) and anonymous vs file RSS
//                         [--snapshot=DIR]   a heap snapshot of each role's first start (summary: heap-summary.mjs)
import { randomBytes } from 'node:crypto';
import { execSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import pg from 'pg';
import {
  freePort,
  imageNodeOptions,
  parseArgs,
  rssMiB,
  scrape,
  sleep,
  startProcess,
  stopProcess,
  waitHttp,
} from './lib.mjs';

const argv = parseArgs();
const roles = (argv.roles ?? 'all,serve').split(',');
const repeat = Number(argv.repeat ?? 3);
const settle = Number(argv.settle ?? 3000);
// The image's settings are the default variant (Dockerfile ENV NODE_OPTIONS).
const variants = (argv.variants ?? imageNodeOptions()).split('|');

const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
const dbName = `cg_mem_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE "${dbName}"`);
const env = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${dbName}`,
  REDIS_KEY_PREFIX: `cgm:${randomBytes(3).toString('hex')}:`,
  HOST: '127.0.0.1',
  MALLOC_ARENA_MAX: '2',
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
try {
  execSync('node dist/main.js migrate', { env: { ...process.env, ...env }, stdio: 'ignore' });
  for (const nodeOptions of variants) {
    for (const role of roles) {
      const rss = [];
      let heap = null;
      for (let i = 0; i < repeat; i++) {
        const port = await freePort();
        const snap = argv.snapshot && i === 0;
        if (snap) mkdirSync(`${argv.snapshot}/${role}`, { recursive: true });
        const p = startProcess(
          process.execPath,
          [
            ...(snap ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${argv.snapshot}/${role}`] : []),
            'dist/main.js',
            role,
          ],
          { ...env, PORT: String(port), NODE_OPTIONS: nodeOptions },
          role,
        );
        try {
          const url = `http://127.0.0.1:${port}`;
          await waitHttp(role === 'worker' ? `${url}/metrics` : `${url}/readyz`, p);
          await sleep(settle);
          rss.push(rssMiB(p.pid));
          if (argv.heap === 'true') {
            const m = await scrape(`${url}/metrics`);
            const roll = readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8');
            const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)?.[1] ?? NaN) / 1024;
            heap = {
              used: m['cg_nodejs_heap_size_used_bytes'] / 2 ** 20,
              total: m['cg_nodejs_heap_size_total_bytes'] / 2 ** 20,
              anon: kb('Anonymous'),
              file: kb('Rss') - kb('Anonymous'),
            };
          }
          if (snap) {
            process.kill(p.pid, 'SIGUSR2');
            const dir = `${argv.snapshot}/${role}`;
            for (let t = 0; t < 300 && !readdirSync(dir).some((f) => f.endsWith('.heapsnapshot')); t++)
              await sleep(100);
            await sleep(2000); // written to the end
          }
        } finally {
          await stopProcess(p);
        }
      }
      const row = {
        role,
        nodeOptions: nodeOptions || '(none)',
        rssMiB: Number(median(rss).toFixed(1)),
        all: rss.map((x) => Math.round(x)),
      };
      if (heap)
        row.heapMiB = Object.fromEntries(Object.entries(heap).map(([k, v]) => [k, Number(v.toFixed(1))]));
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
  await admin.end();
}
console.log('| role | NODE_OPTIONS | RSS after start (median) | runs |');
console.log('|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.role} | \`${r.nodeOptions}\` | **${r.rssMiB} MiB** | ${r.all.join(', ')} |`);
