// Gateway overhead benchmark: the same non-streaming and streaming /responses calls sent (a) straight to the
// fake upstream and (b) through the gateway (key check, limits, pool, usage, metrics, SSE relay), in one run.
// Reports latency percentiles and throughput for both and the ratio. Needs a build (npm run build) and the
// local Postgres/Redis. Usage: node bench/run.mjs [requests=400] [concurrency=8]
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { request } from 'undici';
import { FakeUpstream } from '../test/fake-upstream/index.ts';
import { createApp } from '../dist/bootstrap.js';
import { loadConfig } from '../dist/config/load-config.js';
import { migrate } from '../dist/prisma/migrator.js';
import { KeyRing } from '../dist/common/crypto.js';

const N = Number(process.argv[2] ?? 400);
const C = Number(process.argv[3] ?? 8);
const admin = 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `cg_bench_${randomBytes(4).toString('hex')}`;

const fake = await FakeUpstream.start();
const acct = fake.addAccount({ chatgptAccountId: 'acct-bench' });
const a = new pg.Client({ connectionString: admin });
await a.connect();
await a.query(`CREATE DATABASE "${dbName}"`);
const dbUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
await migrate(dbUrl, 'prisma/migrations');
const config = loadConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: dbUrl,
  REDIS_KEY_PREFIX: `cgb:${randomBytes(3).toString('hex')}:`,
  OPENAI_AUTH_ISSUER: fake.url,
  CODEX_BASE_URL: fake.codexBaseUrl,
});
const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
const accountId = randomUUID();
const sealed = new KeyRing(config.encryptionKeys).seal(
  JSON.stringify({
    access_token: acct.accessToken,
    refresh_token: acct.refreshToken,
    id_token: acct.idToken,
  }),
  accountId,
);
await db.query(
  `INSERT INTO accounts (id, "chatgptAccountId", credentials, "credentialsKeyId", "accessTokenExpiresAt", "updatedAt") VALUES ($1,$2,$3,$4,$5,now())`,
  [accountId, acct.chatgptAccountId, sealed.data, sealed.keyId, acct.accessExpiresAt],
);
const userId = randomUUID();
await db.query(`INSERT INTO users (id, email, "updatedAt") VALUES ($1, 'bench@example.test', now())`, [
  userId,
]);
const key = `sk-cg-${randomBytes(32).toString('base64url').replace(/[-_]/g, 'a').slice(0, 43)}`;
await db.query(`INSERT INTO api_keys (id, "userId", prefix, hash, "updatedAt") VALUES ($1,$2,$3,$4,now())`, [
  randomUUID(),
  userId,
  key.slice(0, 10),
  createHash('sha256').update(key).digest('hex'),
]);
const { app } = await createApp(config, { role: 'serve' });
await app.listen(0, '127.0.0.1');
const gwUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;

const upstreamHeaders = {
  authorization: `Bearer ${acct.accessToken}`,
  'chatgpt-account-id': acct.chatgptAccountId,
  originator: 'codex_exec',
  'user-agent': 'codex_exec/0.169.0 (bench)',
  version: '0.169.0',
  'session-id': randomUUID(),
  accept: 'text/event-stream',
  'content-type': 'application/json',
};
const upstreamBody = JSON.stringify({
  model: 'gpt-5.5',
  instructions: '',
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'benchmark me' }] }],
  stream: true,
  store: false,
});

async function run(label, send) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        const s = performance.now();
        const r = await send();
        if (r.statusCode !== 200) throw new Error(`${label}: ${r.statusCode} ${await r.body.text()}`);
        await r.body.text();
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
  return { label, requests: lat.length, rps: lat.length / secs, p50: p(0.5), p95: p(0.95), p99: p(0.99) };
}

const direct = () =>
  request(`${fake.codexBaseUrl}/responses`, { method: 'POST', headers: upstreamHeaders, body: upstreamBody });
const viaGw = (stream) => () =>
  request(`${gwUrl}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.5', input: 'benchmark me', stream }),
  });

await run('warmup', viaGw(true));
const results = [
  await run('direct to fake upstream (SSE)', direct),
  await run('gateway /v1/responses stream', viaGw(true)),
  await run('gateway /v1/responses non-stream', viaGw(false)),
];
console.log(`requests=${N} concurrency=${C} node=${process.version}`);
console.log('| path | req/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} |`,
  );
const [d, g] = results;
console.log(
  `\ngateway added p50 latency: ${(g.p50 - d.p50).toFixed(1)} ms; throughput ratio gateway/direct: ${(g.rps / d.rps).toFixed(2)}`,
);

await app.close();
await fake.close();
await db.end();
await a.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
await a.end();
process.exit(0);
