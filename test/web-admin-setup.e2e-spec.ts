import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './support/redis.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { registerWebAdmin } from '../src/web-admin/static-site.js';

/**
 * First run (no admin): the logged one-time setup link, GET/POST /admin/api/setup, and the static serving of the
 * web admin at /admin (cache headers, SPA fallback, never for /admin/api/*, missing build).
 */
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function call(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const r = await fetch(gw.url + path, {
    method,
    redirect: 'manual',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* html */
  }
  return { status: r.status, headers: r.headers, text, body: json };
}

function setupTokenFrom(gw: TestGateway): string {
  const line = gw.logs.json().find((l) => typeof l.setupUrl === 'string');
  if (!line) throw new Error('no setup link logged');
  const u = new URL(line.setupUrl);
  expect(u.pathname).toBe('/admin/setup');
  expect(u.origin).toBe(new URL(gw.config.PUBLIC_URL).origin);
  return u.searchParams.get('token')!;
}

describe('web admin: first-run setup', () => {
  let gw: TestGateway;
  let replica: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { PUBLIC_URL: 'http://gw.example.test' } });
    replica = await startGateway({ shareWith: gw, env: { PUBLIC_URL: 'http://gw.example.test' } });
  });
  afterAll(async () => {
    await replica?.close();
    await gw?.close();
  });

  it('logs a setup link, accepts only its token (on any replica), creates the first admin once and signs in', async () => {
    expect((await call(gw, 'GET', '/admin/api/setup')).body).toEqual({ needed: true });
    const token = setupTokenFrom(gw);
    const other = setupTokenFrom(replica);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Redis holds only the tokens' SHA-256, one per started replica.
    const r = new Redis(TEST_REDIS_URL);
    const stored = await r.hkeys(`${gw.config.REDIS_KEY_PREFIX}setup-tokens`);
    r.disconnect();
    expect(stored.sort()).toEqual([sha256(token), sha256(other)].sort());

    const input = { email: 'First@Example.test', password: 'correct horse 1', name: 'First' };
    const wrong = await call(gw, 'POST', '/admin/api/setup', { ...input, token: token.slice(0, -2) + 'xx' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('invalid_setup_token');
    const short = await call(gw, 'POST', '/admin/api/setup', { ...input, password: 'short', token });
    expect(short.status).toBe(400);
    expect(short.body.error.param).toBe('password');
    const xorigin = await call(
      gw,
      'POST',
      '/admin/api/setup',
      { ...input, token },
      { origin: 'http://evil.test' },
    );
    expect(xorigin.status).toBe(403);

    // The token logged by the replica is accepted by the first instance (shared in Redis).
    const ok = await call(gw, 'POST', '/admin/api/setup', { ...input, token: other });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ email: 'first@example.test', role: 'admin', name: 'First' });
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/^cg_session=.+/);
    const me = await call(gw, 'GET', '/admin/api/auth/me', undefined, { cookie });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe('first@example.test');

    expect((await call(replica, 'GET', '/admin/api/setup')).body).toEqual({ needed: false });
    const again = await call(replica, 'POST', '/admin/api/setup', {
      ...input,
      email: 'x@example.test',
      token,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('setup_done');
    // And sign-in with the new password works.
    const login = await call(gw, 'POST', '/admin/api/auth/login', {
      email: input.email,
      password: input.password,
    });
    expect(login.status).toBe(200);
  });

  it('GET / redirects to /admin/; unknown /admin/api/* stays a JSON 404', async () => {
    const root = await call(gw, 'GET', '/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/admin/');
    const api = await call(gw, 'GET', '/admin/api/nope');
    expect(api.status).toBe(404);
    expect(api.body.error).toBeDefined();
  });
});

describe('web admin: no setup link with ADMIN_EMAIL/ADMIN_PASSWORD', () => {
  it('creates the bootstrap admin and logs no link', async () => {
    const gw = await startGateway({
      env: { ADMIN_EMAIL: 'boot@example.test', ADMIN_PASSWORD: 'bootstrap-pass' },
    });
    try {
      expect(gw.logs.json().some((l) => 'setupUrl' in l)).toBe(false);
      expect((await call(gw, 'GET', '/admin/api/setup')).body).toEqual({ needed: false });
    } finally {
      await gw.close();
    }
  });
});

describe('web admin: static files', () => {
  let dir: string;
  const app = Fastify();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cg-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>app</title><div id="root"></div>');
    await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
    await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    registerWebAdmin(app, dir);
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { message: 'not found' } }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves hashed assets as immutable, index.html no-cache, SPA fallback except for /admin/api', async () => {
    const asset = await app.inject('/admin/assets/index-AbC123.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-type']).toMatch(/javascript/);
    for (const p of ['/admin', '/admin/', '/admin/accounts', '/admin/keys/123?x=1', '/admin/index.html']) {
      const r = await app.inject(p);
      expect([p, r.statusCode]).toEqual([p, 200]);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body).toContain('<div id="root">');
    }
    const fav = await app.inject('/admin/favicon.svg');
    expect(fav.headers['cache-control']).toBe('no-cache');
    expect((await app.inject('/admin/assets/gone-123.js')).statusCode).toBe(404);
    expect((await app.inject('/admin/api/whatever')).statusCode).toBe(404);
    expect((await app.inject('/admin/..%2f..%2fetc%2fpasswd')).body).toContain('<div id="root">');
  });

  it('answers a clear message when the build is missing', async () => {
    const bare = Fastify();
    registerWebAdmin(bare, join(dir, 'nope'));
    const r = await bare.inject('/admin/');
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    await bare.close();
  });
});
