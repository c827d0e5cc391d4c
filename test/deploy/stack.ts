/**
 * A real local gateway for the deployment checks (test/deploy/*.ts): the fake upstream in this process, a scratch
 * Postgres database migrated with `node dist/main.js migrate`, and gateway processes started from the built
 * dist/ (`node dist/main.js <role>`), the way an operator runs them. Needs `npm run build` and the local
 * Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379); everything it creates is removed by `close()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { FakeUpstream, type FakeAccount } from '../fake-upstream/index.ts';

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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function authJsonOf(a: FakeAccount) {
  return {
    OPENAI_API_KEY: null,
    tokens: {
      id_token: a.idToken,
      access_token: a.accessToken,
      refresh_token: a.refreshToken,
      account_id: a.chatgptAccountId,
    },
    last_refresh: new Date().toISOString(),
  };
}

export interface GatewayProcess {
  role: string;
  port: number;
  url: string;
  child: ChildProcess;
  log: string[];
}

export class LocalStack {
  readonly id = randomBytes(4).toString('hex');
  readonly db = `cg_deploy_${this.id}`;
  readonly adminEmail = 'deploy-admin@example.test';
  readonly adminPassword = `pw-${randomBytes(10).toString('hex')}`;
  readonly metricsToken = `mt-${randomBytes(10).toString('hex')}`;
  readonly procs: GatewayProcess[] = [];
  env: Record<string, string> = {};

  readonly fake: FakeUpstream;

  private constructor(fake: FakeUpstream) {
    this.fake = fake;
  }

  static async start(extraEnv: Record<string, string> = {}): Promise<LocalStack> {
    const s = new LocalStack(await FakeUpstream.start());
    s.env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${s.db}`,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `cgdeploy${s.id}:`,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ADMIN_EMAIL: s.adminEmail,
      ADMIN_PASSWORD: s.adminPassword,
      METRICS_TOKEN: s.metricsToken,
      CODEX_BASE_URL: s.fake.codexBaseUrl,
      OPENAI_AUTH_ISSUER: s.fake.url,
      ...extraEnv,
    };
    execFileSync(process.execPath, ['dist/main.js', 'migrate'], {
      env: { ...process.env, ...s.env },
      stdio: 'pipe',
    });
    return s;
  }

  async run(role: 'all' | 'serve' | 'worker'): Promise<GatewayProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js', role], {
      // PUBLIC_URL is the only Origin the CSRF check trusts: this process's own address.
      env: { ...process.env, ...this.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p: GatewayProcess = { role, port, url: `http://127.0.0.1:${port}`, child, log: [] };
    child.stdout!.on('data', (d) => p.log.push(String(d)));
    child.stderr!.on('data', (d) => p.log.push(String(d)));
    this.procs.push(p);
    const probe = role === 'worker' ? '/metrics' : '/readyz';
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`${role} exited: ${p.log.join('').slice(-2000)}`);
        const r = await fetch(`${p.url}${probe}`, {
          headers: { authorization: `Bearer ${this.metricsToken}` },
        });
        return r.status === 200;
      },
      60_000,
      `${role} on :${port}`,
    );
    return p;
  }

  /** Signs the admin in (session cookie) and returns a small admin API client. */
  async admin(base: string) {
    const login = await fetch(`${base}/admin/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email: this.adminEmail, password: this.adminPassword }),
    });
    if (login.status !== 200) throw new Error(`admin sign-in: ${login.status}`);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    return async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${base}/admin/api${path}`, {
        method,
        headers: { cookie, origin: base, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await r.json().catch(() => null)) as any;
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
  }

  async close(): Promise<void> {
    for (const p of this.procs) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await new Promise((r) => p.child.once('exit', r));
      }
    }
    await this.fake.close();
    try {
      execFileSync(
        'psql',
        ['-h', '127.0.0.1', '-U', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${this.db} WITH (FORCE)`],
        {
          stdio: 'ignore',
        },
      );
      const keys = execFileSync(
        'redis-cli',
        ['-h', '127.0.0.1', '--scan', '--pattern', `${this.env.REDIS_KEY_PREFIX}*`],
        {
          encoding: 'utf8',
        },
      )
        .split('\n')
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 500)
        execFileSync('redis-cli', ['-h', '127.0.0.1', 'del', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  }
}
