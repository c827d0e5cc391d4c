import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway } from './support/gateway.js';
import { closeGracefully } from '../src/bootstrap.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { createTestDatabase } from './support/db.js';
import { flushPrefix, testPrefix } from './support/redis.js';
import { eventually } from './support/wait.js';

/** Graceful shutdown: in-flight streams finish, new connections are refused, the process exits 0 on SIGTERM. */
describe('graceful shutdown', () => {
  it('app.close() lets an in-flight stream finish while refusing new requests', async () => {
    const fake = await FakeUpstream.start();
    const gw = await startGateway({
      env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl },
    });
    try {
      const a = fake.addAccount();
      await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
      const { key } = await createKey(gw);
      fake.respondWith({ text: 'word '.repeat(400) });
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.5', input: 'long', stream: true }),
      });
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      const closing = closeGracefully(gw.app);
      await new Promise((r) => setTimeout(r, 50));
      const refused = await fetch(`${gw.url}/healthz`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect(['refused', 503]).toContain(refused);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('event: response.completed');
      await closing;
    } finally {
      await gw.db.drop();
      await flushPrefix(gw.config.REDIS_KEY_PREFIX);
      await fake.close();
    }
  });

  const main = join(process.cwd(), 'dist', 'main.js');

  /**
   * Runs `node dist/main.js serve` on a fresh database and Redis prefix until it logs "listening", hands its
   * port, output and exit to `body`, and cleans up after it.
   */
  async function withServe(
    env: Record<string, string>,
    body: (p: {
      port: number;
      out: () => string;
      child: ChildProcess;
      exited: Promise<number | null>;
    }) => Promise<void>,
  ): Promise<void> {
    const db = await createTestDatabase();
    const prefix = testPrefix();
    const child = spawn(process.execPath, [main, 'serve'], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 60000);
        child.stdout!.on('data', () => {
          const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(Number(m[1]));
          }
        });
      });
      await body({ port, out: () => out, child, exited });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await db.drop();
      await flushPrefix(prefix);
    }
  }

  (existsSync(main) ? it : it.skip)('node dist/main.js serve exits 0 on SIGTERM', async () => {
    await withServe({}, async ({ out, child, exited }) => {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out()).toContain('"msg":"shutting down"');
      expect(out()).toContain('"msg":"stopped"');
    });
  });

  (existsSync(main) ? it : it.skip)(
    'with SHUTDOWN_DRAIN_DELAY_MS, /readyz answers 503 at once on SIGTERM while requests are still served',
    async () => {
      await withServe({ SHUTDOWN_DRAIN_DELAY_MS: '1500' }, async ({ port, out, child, exited }) => {
        const base = `http://127.0.0.1:${port}`;
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        child.kill('SIGTERM');
        await eventually(
          async () => {
            const r = await fetch(`${base}/readyz`);
            expect(r.status).toBe(503);
            expect(await r.json()).toMatchObject({ status: 'draining' });
            return true;
          },
          'readyz 503 while draining',
          1200,
        );
        // Still serving during the delay: liveness answers, so in-flight and late requests are not refused.
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        expect(await exited).toBe(0);
        expect(out()).toContain('"drainDelayMs":1500');
      });
    },
    90_000,
  );
});
