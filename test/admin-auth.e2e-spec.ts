import pg from 'pg';
import { createKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { TEST_REDIS_URL } from './support/redis.js';
import { Redis } from 'ioredis';

const ADMIN_EMAIL = 'root@example.test';
const ADMIN_PASSWORD = 'first-admin-pass-1';
const PUBLIC_URL = 'https://gw.example.test';

interface Res {
  status: number;
  headers: Headers;
  body: any;
}

async function req(
  gw: TestGateway,
  method: string,
  path: string,
  opts: { cookie?: string; origin?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Res> {
  const r = await fetch(gw.url + path, {
    method,
    headers: {
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(opts.origin ? { origin: opts.origin } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

function cookieOf(res: Res): { pair: string; attrs: string[]; value: string } {
  const raw = res.headers.get('set-cookie') ?? '';
  const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
  return { pair, attrs, value: pair.split('=')[1] ?? '' };
}

async function login(gw: TestGateway, email: string, password: string, origin = PUBLIC_URL) {
  return req(gw, 'POST', '/admin/api/auth/login', { origin, body: { email, password } });
}

async function dbDump(gw: TestGateway): Promise<string> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    const out = [];
    for (const t of ['users', 'api_keys', 'audit_logs', 'settings'])
      out.push((await c.query(`SELECT * FROM ${t}`)).rows);
    return JSON.stringify(out);
  } finally {
    await c.end();
  }
}

describe('admin sign-in', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({
      env: {
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        PUBLIC_URL,
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
        LOGIN_MAX_FAILURES_PER_IP: '8',
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('signs the bootstrap admin in with a strict, HttpOnly, Secure session cookie', async () => {
    const r = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(r.status).toBe(200);
    expect(r.body.user.email).toBe(ADMIN_EMAIL);
    expect(r.body.user.role).toBe('admin');
    expect(JSON.stringify(r.body)).not.toContain('scrypt');
    const c = cookieOf(r);
    expect(c.pair).toMatch(/^cg_session=[A-Za-z0-9_-]{40,}$/);
    expect(c.attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/admin', 'Secure']));

    const me = await req(gw, 'GET', '/admin/api/auth/me', { cookie: c.pair });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(ADMIN_EMAIL);
    expect(me.body.via).toBe('session');

    // The session id is stored hashed: no Redis key and no DB row holds it; logs neither.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${gw.config.REDIS_KEY_PREFIX}*`);
      expect(keys.join('\n')).not.toContain(c.value);
      for (const k of keys.filter((k) => k.includes('session:')))
        expect(await redis.get(k)).not.toContain(c.value);
    } finally {
      redis.disconnect();
    }
    const dump = await dbDump(gw);
    expect(dump).not.toContain(c.value);
    expect(dump).not.toContain(ADMIN_PASSWORD);
    expect(gw.logs.text).not.toContain(c.value);
    expect(gw.logs.text).not.toContain(ADMIN_PASSWORD);
  });

  it('refuses a cross-origin state-changing call carrying the cookie, allows the same origin', async () => {
    const c = cookieOf(await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)).pair;
    const body = { email: 'csrf@example.test', name: 'x' };
    const evil = await req(gw, 'POST', '/admin/api/users', {
      cookie: c,
      origin: 'https://evil.example.test',
      body,
    });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('csrf_origin_mismatch');
    const noOrigin = await req(gw, 'POST', '/admin/api/users', { cookie: c, body });
    expect(noOrigin.status).toBe(403);
    const ok = await req(gw, 'POST', '/admin/api/users', { cookie: c, origin: PUBLIC_URL, body });
    expect(ok.status).toBe(201);
    // The Host header is not an allowed origin (issue 11 item 11): only PUBLIC_URL is.
    const sameHost = await req(gw, 'PATCH', `/admin/api/users/${ok.body.id}`, {
      cookie: c,
      headers: { referer: `${gw.url}/admin/users` },
      body: { name: 'y' },
    });
    expect(sameHost.status).toBe(403);
    const viaReferer = await req(gw, 'PATCH', `/admin/api/users/${ok.body.id}`, {
      cookie: c,
      headers: { referer: `${PUBLIC_URL}/admin/users` },
      body: { name: 'y' },
    });
    expect(viaReferer.status).toBe(200);
    // Origin: null is refused even with a same-origin Referer.
    const nullOrigin = await req(gw, 'PATCH', `/admin/api/users/${ok.body.id}`, {
      cookie: c,
      origin: 'null',
      headers: { referer: `${PUBLIC_URL}/admin/users` },
      body: { name: 'z' },
    });
    expect(nullOrigin.status).toBe(403);
    // Cross-origin login is refused too (login CSRF).
    expect((await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD, 'https://evil.example.test')).status).toBe(403);
  });

  it('throttles wrong passwords per account with 429 and Retry-After, even for the right password', async () => {
    const email = 'victim@example.test';
    const admin = cookieOf(await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)).pair;
    const created = await req(gw, 'POST', '/admin/api/users', {
      cookie: admin,
      origin: PUBLIC_URL,
      body: { email, role: 'admin', password: 'victim-pass-123', currentPassword: ADMIN_PASSWORD },
    });
    expect(created.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const r = await login(gw, email, `wrong-${i}`);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('invalid_credentials');
    }
    const blocked = await login(gw, email, 'victim-pass-123');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    const audit = await dbDump(gw);
    expect(audit).toContain('auth.login_failed');
    expect(audit).not.toContain('wrong-0');
  });

  it('throttles per IP across accounts', async () => {
    // 3 failures were spent above from this IP; 8 per IP in total.
    for (let i = 0; i < 5; i++)
      expect((await login(gw, `nobody${i}@example.test`, 'nope-nope')).status).toBe(401);
    const r = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });
});

describe('admin sign-in: sessions, members, bootstrap', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { ADMIN_EMAIL, ADMIN_PASSWORD, SESSION_IDLE_SECONDS: '60' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('sets no Secure flag on an http PUBLIC_URL; logout ends the session', async () => {
    const r = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD, gw.url);
    expect(r.status).toBe(200);
    const c = cookieOf(r);
    expect(c.attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/admin']));
    expect(c.attrs).not.toContain('Secure');
    expect((await req(gw, 'GET', '/admin/api/users', { cookie: c.pair })).status).toBe(200);
    const out = await req(gw, 'POST', '/admin/api/auth/logout', { cookie: c.pair, origin: gw.url });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await req(gw, 'GET', '/admin/api/users', { cookie: c.pair })).status).toBe(401);
    expect((await req(gw, 'GET', '/admin/api/users')).status).toBe(401);
  });

  it('a member can sign in but cannot reach admin routes', async () => {
    const admin = cookieOf(await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD, gw.url)).pair;
    const m = await req(gw, 'POST', '/admin/api/users', {
      cookie: admin,
      origin: gw.url,
      body: { email: 'member@example.test', password: 'member-pass-1' },
    });
    expect(m.status).toBe(201);
    expect(m.body.role).toBe('member');
    const r = await login(gw, 'member@example.test', 'member-pass-1', gw.url);
    expect(r.status).toBe(200);
    const member = cookieOf(r).pair;
    expect((await req(gw, 'GET', '/admin/api/auth/me', { cookie: member })).body.user.role).toBe('member');
    expect((await req(gw, 'GET', '/admin/api/users', { cookie: member })).status).toBe(403);
    expect((await req(gw, 'GET', '/admin/api/settings', { cookie: member })).status).toBe(403);
    const key = await createKey(gw, { userId: m.body.id });
    expect(
      (await req(gw, 'GET', '/admin/api/users', { headers: { authorization: `Bearer ${key.key}` } })).status,
    ).toBe(403);

    // Disabling the member ends the session.
    expect(
      (
        await req(gw, 'PATCH', `/admin/api/users/${m.body.id}`, {
          cookie: admin,
          origin: gw.url,
          body: { disabled: true },
        })
      ).status,
    ).toBe(200);
    expect((await req(gw, 'GET', '/admin/api/auth/me', { cookie: member })).status).toBe(401);
    expect((await login(gw, 'member@example.test', 'member-pass-1', gw.url)).status).toBe(401);
  });

  it('creates the first admin once and never overwrites it (a second replica with another password)', async () => {
    const gw2 = await startGateway({
      shareWith: gw,
      env: { ADMIN_EMAIL, ADMIN_PASSWORD: 'another-password-2' },
    });
    try {
      expect((await login(gw2, ADMIN_EMAIL, ADMIN_PASSWORD, gw2.url)).status).toBe(200);
      expect((await login(gw2, ADMIN_EMAIL, 'another-password-2', gw2.url)).status).toBe(401);
      const c = new pg.Client({ connectionString: gw.db.url });
      await c.connect();
      const rows = (await c.query(`SELECT role, "passwordHash" FROM users WHERE email = $1`, [ADMIN_EMAIL]))
        .rows;
      await c.end();
      expect(rows).toHaveLength(1);
      expect(rows[0].role).toBe('admin');
      expect(rows[0].passwordHash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$/);
    } finally {
      await gw2.close();
    }
  });

  it('bootstraps the admin race-free when replicas start together', async () => {
    const first = await startGateway({ env: { ADMIN_EMAIL: 'race@example.test', ADMIN_PASSWORD } });
    try {
      const others = await Promise.all(
        [1, 2, 3].map(() =>
          startGateway({ shareWith: first, env: { ADMIN_EMAIL: 'race2@example.test', ADMIN_PASSWORD } }),
        ),
      );
      await Promise.all(others.map((o) => o.close()));
      const c = new pg.Client({ connectionString: first.db.url });
      await c.connect();
      const n = (await c.query(`SELECT count(*)::int AS n FROM users WHERE email = 'race2@example.test'`))
        .rows[0].n;
      await c.end();
      expect(n).toBe(1);
    } finally {
      await first.close();
    }
  }, 30000);
});
