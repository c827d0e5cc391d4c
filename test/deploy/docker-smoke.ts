/**
 * Smoke test of the built image, driven from the host (scripts/docker-smoke.sh builds the image and runs
 * `migrate` first). Runs `all` from the image with a read-only root filesystem on the host network against the
 * local Postgres/Redis and the fake upstream, then checks, from outside, what an operator relies on:
 * readiness, admin sign-in, importing an account, one chat completion and one streamed response through the
 * official `openai` SDK, /metrics, the Docker health status, no secrets in the logs, and that SIGTERM lets a
 * stream that is in flight finish before the process exits 0.
 *
 * The fake upstream is the one `npm run fake-upstream` runs (test/fake-upstream/cli.ts starts the same class);
 * it is started in this process because the drain check needs to script a slow answer, which the CLI cannot.
 *
 * Env: IMAGE, DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX (all required). Exit 0 = every check passed.
 * Run: node --experimental-strip-types test/deploy/docker-smoke.ts
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { FakeUpstream } from '../fake-upstream/index.ts';

const need = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const IMAGE = need('IMAGE');
const name = `cg-smoke-${process.pid}`;
const started = Date.now();
const failures: string[] = [];
const step = (msg: string) => console.log(`[smoke +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
function check(ok: unknown, what: string): void {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn().catch(() => false)) return true;
    await sleep(250);
  }
  check(false, `${what} within ${timeoutMs / 1000}s`);
  return false;
}

const fake = await FakeUpstream.start();
const acct = fake.addAccount({
  chatgptAccountId: 'acct-smoke',
  email: 'smoke@example.test',
  accessTtlSeconds: 3600,
});
const authJson = {
  OPENAI_API_KEY: null,
  tokens: {
    id_token: acct.idToken,
    access_token: acct.accessToken,
    refresh_token: acct.refreshToken,
    account_id: acct.chatgptAccountId,
  },
  last_refresh: new Date().toISOString(),
};
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const adminEmail = 'smoke-admin@example.test';
const adminPassword = `pw-${randomBytes(12).toString('hex')}`;
const env: Record<string, string> = {
  PORT: String(port),
  HOST: '127.0.0.1',
  PUBLIC_URL: base,
  DATABASE_URL: need('DATABASE_URL'),
  REDIS_URL: need('REDIS_URL'),
  REDIS_KEY_PREFIX: need('REDIS_KEY_PREFIX'),
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ADMIN_EMAIL: adminEmail,
  ADMIN_PASSWORD: adminPassword,
  CODEX_BASE_URL: fake.codexBaseUrl,
  OPENAI_AUTH_ISSUER: fake.url,
  SHUTDOWN_GRACE_MS: '20000',
};

let exitCode = 1;
try {
  step(`docker run ${IMAGE} all (read-only root fs, host network, port ${port})`);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  docker('run', '-d', '--name', name, '--network', 'host', '--read-only', ...envArgs, IMAGE, 'all');

  step('readiness');
  const ready = await waitFor(
    '/readyz 200',
    async () => (await fetch(`${base}/readyz`)).status === 200,
    60_000,
  );
  if (!ready) throw new Error('gateway never became ready');
  check(true, `/readyz 200 after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  check((await fetch(`${base}/healthz`)).status === 200, '/healthz 200');

  step('admin sign-in (ADMIN_EMAIL/ADMIN_PASSWORD) and account import');
  const login = await fetch(`${base}/admin/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: adminEmail, password: adminPassword }),
  });
  check(login.status === 200, `sign-in 200 (got ${login.status})`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  check(cookie.startsWith('cg_session='), 'session cookie set');
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}/admin/api${path}`, {
      method,
      headers: { cookie, origin: base, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json().catch(() => null)) as any };
  };
  const imp = await admin('POST', '/accounts/import', authJson);
  check(imp.status === 200 && imp.body?.account?.status === 'active', `account imported (${imp.status})`);
  check(!JSON.stringify(imp.body).includes(acct.accessToken), 'import answer shows no token');
  const key = await admin('POST', '/keys', { name: 'docker smoke' });
  check(key.status === 201 || key.status === 200, `virtual key created (${key.status})`);
  const apiKey: string = key.body?.key ?? '';
  check(apiKey.startsWith('sk-cg-'), 'key is sk-cg-…');

  step('OpenAI SDK: one chat completion, one streamed response');
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const models = await client.models.list();
  check(
    models.data.some((m) => m.id === 'gpt-5.5'),
    '/v1/models lists gpt-5.5',
  );
  const chat = await client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'hello from the docker smoke' }],
  });
  check((chat.choices[0]?.message?.content ?? '').length > 0, 'chat completion has content');
  check((chat.usage?.total_tokens ?? 0) > 0, 'chat completion reports usage');
  let deltas = 0;
  let completed = false;
  const stream = await client.responses.create({ model: 'gpt-5.5', input: 'stream this', stream: true });
  for await (const ev of stream) {
    if (ev.type === 'response.output_text.delta') deltas++;
    if (ev.type === 'response.completed') completed = true;
  }
  check(deltas > 0 && completed, `streamed response: ${deltas} text deltas, completed=${completed}`);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  check(/cg_requests_total\{[^}]*endpoint="[^"]*chat/.test(metrics), '/metrics counts the chat request');
  check(/cg_tokens_total\{/.test(metrics), '/metrics has token counters');

  const adminUi = await fetch(`${base}/admin/api/docs/`);
  check(adminUi.status === 200, `admin API docs served (${adminUi.status})`);
  const hasWeb =
    execFileSync(
      'docker',
      [
        'exec',
        name,
        'node',
        '-e',
        "process.stdout.write(String(require('fs').existsSync('web/dist/index.html')))",
      ],
      {
        encoding: 'utf8',
      },
    ) === 'true';
  if (hasWeb) {
    const ui = await fetch(`${base}/admin/`);
    check(
      ui.status === 200 && (ui.headers.get('content-type') ?? '').includes('text/html'),
      'web admin served at /admin/',
    );
  } else console.log('  (image has no web/dist: web admin check skipped)');

  step('Docker HEALTHCHECK reports healthy');
  const healthy = await waitFor(
    'container health "healthy"',
    async () => docker('inspect', '-f', '{{.State.Health.Status}}', name) === 'healthy',
    45_000,
  );
  if (healthy) check(true, 'container health: healthy');
  check(docker('inspect', '-f', '{{.Config.User}}', name) === 'node', 'runs as user node');
  const pid1 = docker('exec', name, 'cat', '/proc/1/cmdline').replace(/\0/g, ' ');
  check(pid1.startsWith('/usr/bin/tini'), `PID 1 is tini (${pid1.trim()})`);

  step('SIGTERM while a slow stream is in flight: it finishes, new requests are refused, exit 0');
  fake.fault('acct-smoke', { kind: 'slow_first_byte', delayMs: 3000 });
  const before = fake.requestsTo('/backend-api/codex/responses').length;
  const slow = (async () => {
    let text = '';
    let done = false;
    const s = await client.responses.create({ model: 'gpt-5.5', input: 'drain me', stream: true });
    for await (const ev of s) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') done = true;
    }
    return { text, done };
  })();
  await waitFor(
    'slow stream reached the upstream',
    async () => fake.requestsTo('/backend-api/codex/responses').length > before,
    10_000,
  );
  const exited = new Promise<number>((resolve) => {
    const w = spawn('docker', ['wait', name]);
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    w.on('close', () => resolve(Number(out.trim())));
  });
  docker('kill', '-s', 'TERM', name);
  await sleep(300);
  const refused = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } }).then(
    (r) => r.status,
    () => 'refused',
  );
  check(refused === 503 || refused === 'refused', `new request during drain refused (${refused})`);
  const drained = await slow.catch((e: Error) => ({ text: '', done: false, err: e.message }));
  check(
    drained.done && drained.text.length > 0,
    `in-flight stream completed during drain (${JSON.stringify(drained)})`,
  );
  const code = await exited;
  check(code === 0, `container exited ${code} after SIGTERM`);

  const logs = spawnSync('docker', ['logs', name], { encoding: 'utf8' });
  const allLogs = logs.stdout + logs.stderr;
  check(/"msg":"stopped"/.test(allLogs), 'log says stopped');
  for (const [what, secret] of [
    ['admin password', adminPassword],
    ['access token', acct.accessToken],
    ['refresh token', acct.refreshToken],
    ['virtual key', apiKey],
    ['encryption key', env.ENCRYPTION_KEY],
  ])
    check(!allLogs.includes(secret), `no ${what} in the logs`);
  exitCode = failures.length ? 1 : 0;
} catch (err) {
  console.error(`[smoke] aborted: ${(err as Error).stack ?? err}`);
  failures.push((err as Error).message);
  try {
    console.error(
      execFileSync('docker', ['logs', '--tail', '40', name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  } catch {
    /* container may not exist */
  }
} finally {
  try {
    execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
  await fake.close();
}
step(failures.length ? `FAILED: ${failures.join('; ')}` : 'all checks passed');
process.exit(exitCode);
