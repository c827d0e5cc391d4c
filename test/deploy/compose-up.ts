/**
 * The compose stack, up for real (scripts/ci-deploy.sh): docker-compose.yml with deploy/compose/ci.override.yml
 * (stand-in Postgres, Redis and Prometheus images built from the same local Debian base as the gateway image;
 * the gateway pointed at the fake upstream in this process). Checks, from the host, what an operator relies on:
 *   - `migrate` runs to completion once and the API and worker become healthy (Docker health checks);
 *   - through the published port: admin sign-in, account import, a virtual key, a model request answered;
 *   - Prometheus (published on loopback) scrapes both targets and has loaded the alert rules;
 *   - `docker-compose down` (volumes kept) and `up` again: the same account and key are there, the admin session
 *     made before the restart still works (Postgres and Redis volumes kept their data), and migrate found
 *     nothing left to apply.
 * The stack is removed at the end (`down -v`), the images are kept (cached for the next run).
 * Env: IMAGE (the gateway image, built by scripts/docker-smoke.sh; default codex-gateway:ci).
 * Run: node --experimental-strip-types test/deploy/compose-up.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeUpstream } from '../fake-upstream/index.ts';
import { authJsonOf, freePort, sleep } from './stack.ts';

const IMAGE = process.env.IMAGE ?? 'codex-gateway:ci';
const started = Date.now();
const failures: string[] = [];
const step = (msg: string) => console.log(`[compose +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
function check(ok: unknown, what: string): void {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}
async function waitFor(
  what: string,
  fn: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (
      await Promise.resolve()
        .then(fn)
        .catch(() => false)
    )
      return true;
    await sleep(500);
  }
  check(false, `${what} within ${timeoutMs / 1000}s`);
  return false;
}

// The fake upstream listens on the Docker bridge's address, which the containers reach as host.docker.internal.
const bridge =
  execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' }).match(
    /inet (\S+)\//,
  )?.[1] ?? '0.0.0.0';
const fake = await FakeUpstream.start({ host: bridge });
const acct = fake.addAccount({
  chatgptAccountId: 'acct-compose',
  email: 'compose@example.test',
  accessTtlSeconds: 3600,
});
const dir = mkdtempSync(join(tmpdir(), 'cg-compose-'));
const project = `cgci${randomBytes(3).toString('hex')}`;
const apiPort = await freePort();
const promPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
const adminEmail = 'compose-admin@example.test';
const adminPassword = `pw-${randomBytes(12).toString('hex')}`;
const metricsToken = `mt-${randomBytes(12).toString('hex')}`;
const upstream = `http://host.docker.internal:${new URL(fake.url).port}`;
const settings: Record<string, string> = {
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
  GRAFANA_ADMIN_PASSWORD: 'unused-in-ci',
  ADMIN_EMAIL: adminEmail,
  ADMIN_PASSWORD: adminPassword,
  METRICS_TOKEN: metricsToken,
  PUBLIC_URL: base,
  API_PORT: String(apiPort),
  PROMETHEUS_PORT: String(promPort),
  GATEWAY_IMAGE: IMAGE,
  SHUTDOWN_GRACE_MS: '10000',
  CODEX_BASE_URL: `${upstream}/backend-api/codex`,
  OPENAI_AUTH_ISSUER: upstream,
};
// .env.example with the blanks filled in: the file an operator starts from.
const envFile = join(dir, 'env');
writeFileSync(
  envFile,
  readFileSync('.env.example', 'utf8')
    .split('\n')
    .map((l) => {
      const k = l.match(/^([A-Z_]+)=/)?.[1];
      return k && k in settings ? `${k}=${settings[k]}` : l;
    })
    .concat(Object.entries(settings).map(([k, v]) => `${k}=${v}`))
    .join('\n'),
);
const compose = (...args: string[]) =>
  execFileSync(
    'docker-compose',
    [
      '-p',
      project,
      '-f',
      'docker-compose.yml',
      '-f',
      'deploy/compose/ci.override.yml',
      '--env-file',
      envFile,
      ...args,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
const SERVICES = ['postgres', 'redis', 'migrate', 'api', 'worker', 'prometheus'];
const state = (service: string) => {
  const id = compose('ps', '-a', '-q', service).trim().split('\n')[0];
  if (!id) return { status: 'absent', health: '', exit: -1, id: '' };
  const [status, health, exit] = execFileSync(
    'docker',
    [
      'inspect',
      '-f',
      '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.State.ExitCode}}',
      id,
    ],
    { encoding: 'utf8' },
  )
    .trim()
    .split(' ');
  return { status, health, exit: Number(exit), id };
};
const logsOf = (service: string) => compose('logs', '--no-color', service);

async function stackUp(round: number): Promise<boolean> {
  const t = Date.now();
  step(`round ${round}: docker-compose up -d ${SERVICES.join(' ')}`);
  compose('up', '-d', '--no-build', ...SERVICES);
  const migrated = await waitFor(
    'migrate exited 0',
    () => {
      const s = state('migrate');
      return s.status === 'exited' && s.exit === 0;
    },
    120_000,
  );
  const healthy = await waitFor(
    'api and worker healthy',
    () => state('api').health === 'healthy' && state('worker').health === 'healthy',
    120_000,
  );
  check(
    migrated && healthy,
    `round ${round}: migrate done, api and worker healthy after ${((Date.now() - t) / 1000).toFixed(1)}s`,
  );
  return migrated && healthy;
}

async function signIn(): Promise<string> {
  const login = await fetch(`${base}/admin/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: adminEmail, password: adminPassword }),
  });
  check(login.status === 200, `admin sign-in through the published port (${login.status})`);
  return (login.headers.get('set-cookie') ?? '').split(';')[0];
}
const adminCall = async (cookie: string, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${base}/admin/api${path}`, {
    method,
    headers: { cookie, origin: base, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
};
const ask = async (key: string) => {
  const r = await fetch(`${base}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.5', input: 'hello from compose', stream: false }),
  });
  const body = (await r.json().catch(() => null)) as any;
  return { status: r.status, completed: body?.status === 'completed' };
};

let exitCode = 1;
try {
  step(`building the stand-in images (deploy/compose/standin) for project ${project}`);
  const tb = Date.now();
  compose('build', '-q', 'postgres', 'redis', 'prometheus');
  step(`stand-ins built in ${((Date.now() - tb) / 1000).toFixed(1)}s`);

  if (!(await stackUp(1))) throw new Error('stack did not come up');
  check(/applied \d+ migration/.test(logsOf('migrate')), 'round 1: migrate applied the migrations');
  const migrateRuns = compose('ps', '-a', '-q', 'migrate').trim().split('\n').filter(Boolean);
  const restarts = execFileSync('docker', ['inspect', '-f', '{{.RestartCount}}', ...migrateRuns], {
    encoding: 'utf8',
  });
  check(
    migrateRuns.length === 1 && restarts.trim() === '0',
    'round 1: one migrate container, run once (no restart)',
  );

  const cookie = await signIn();
  const imp = await adminCall(cookie, 'POST', '/accounts/import', authJsonOf(acct));
  check(imp.status === 200 && imp.body?.account?.status === 'active', `account imported (${imp.status})`);
  const accountId: string = imp.body?.account?.id;
  const key = await adminCall(cookie, 'POST', '/keys', { name: 'compose ci' });
  const apiKey: string = key.body?.key ?? '';
  const first = await ask(apiKey);
  check(
    first.status === 200 && first.completed,
    `a model request through :${apiPort} answered (${first.status})`,
  );
  check(fake.requestsTo('/backend-api/codex/responses').length >= 1, 'it reached the (fake) upstream');

  step('Prometheus: targets and rules');
  const prom = `http://127.0.0.1:${promPort}`;
  const targetsUp = await waitFor(
    'Prometheus scraping api and worker (health up)',
    async () => {
      const t = (await (await fetch(`${prom}/api/v1/targets`)).json()) as any;
      const active: any[] = t.data?.activeTargets ?? [];
      const up = new Set(active.filter((x) => x.health === 'up').map((x) => x.labels?.component));
      return up.has('api') && up.has('worker');
    },
    60_000,
  );
  check(targetsUp, 'Prometheus: both targets up (with METRICS_TOKEN)');
  const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as any;
  const groups: any[] = rules.data?.groups ?? [];
  const ruleCount = groups.reduce((n, g) => n + (g.rules?.length ?? 0), 0);
  const ruleFile = readFileSync('helm/codex-gateway/rules/codex-gateway.rules.yml', 'utf8');
  const expected = (ruleFile.match(/^\s+- (alert|record):/gm) ?? []).length;
  check(
    ruleCount > 0 && ruleCount === expected,
    `Prometheus: ${ruleCount} rules loaded (the rules file has ${expected})`,
  );
  const upQuery = (await (
    await fetch(`${prom}/api/v1/query?query=${encodeURIComponent('sum(up{job="codex-gateway"})')}`)
  ).json()) as any;
  check(upQuery.data?.result?.[0]?.value?.[1] === '2', 'Prometheus: sum(up) = 2');

  step('docker-compose down (volumes kept), then up again');
  const td = Date.now();
  compose('down');
  check(
    SERVICES.every((s) => state(s).status === 'absent'),
    'down removed every container',
  );
  const volumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `name=${project}_`], {
    encoding: 'utf8',
  });
  check(
    /pgdata/.test(volumes) && /redisdata/.test(volumes),
    'the pgdata and redisdata volumes are still there',
  );
  if (!(await stackUp(2))) throw new Error('stack did not come up again');
  step(`down + up took ${((Date.now() - td) / 1000).toFixed(1)}s`);
  check(/up to date/.test(logsOf('migrate')), 'round 2: migrate had nothing to apply');
  const again = await adminCall(cookie, 'GET', '/accounts');
  const list: any[] = again.body?.data ?? [];
  check(
    again.status === 200,
    `the session made before the restart still works (Redis volume) (${again.status})`,
  );
  check(
    list.some((a) => a.id === accountId && a.status === 'active'),
    'the same account, still active (Postgres volume)',
  );
  const second = await ask(apiKey);
  check(
    second.status === 200 && second.completed,
    `the key made before the restart still answers (${second.status})`,
  );
  exitCode = failures.length ? 1 : 0;
} catch (err) {
  check(false, (err as Error).message);
} finally {
  if (failures.length) {
    for (const s of ['migrate', 'api', 'worker', 'prometheus', 'postgres'])
      try {
        console.log(`--- logs ${s} (tail)\n${logsOf(s).split('\n').slice(-15).join('\n')}`);
      } catch {
        /* not there */
      }
  }
  try {
    compose('down', '-v', '--remove-orphans');
  } catch (err) {
    console.log(`down -v: ${(err as Error).message}`);
  }
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
  step(failures.length ? `${failures.length} check(s) failed` : 'compose stack checks passed');
  process.exit(failures.length ? 1 : exitCode);
}
