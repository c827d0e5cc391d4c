import pg from 'pg';
import { createAdminKey, createKey, createUser } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { signIn } from './support/http.js';
import { eventually } from './support/wait.js';

/**
 * Virtual keys through the admin API, and the key guard's behaviour (cache, pub/sub revocation across replicas,
 * expiry, disabled users). /v1 is exercised with the openai SDK in api-key-guard.e2e-spec.ts; here the same guard code
 * (authenticateKey) is reached through GET /v1/me, which accepts any valid key.
 */
async function call(gw: TestGateway, method: string, path: string, key?: string, body?: unknown) {
  const r = await fetch(gw.url + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : null) as any };
}

async function dbRows(gw: TestGateway, sql: string): Promise<any[]> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** A call with a session cookie and the Origin CSRF needs. */
async function sess(
  gw: TestGateway,
  method: string,
  path: string,
  s: { cookie: string; origin: string },
  body?: unknown,
) {
  const r = await fetch(gw.url + path, {
    method,
    headers: {
      cookie: s.cookie,
      origin: s.origin,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as any };
}

describe('keys: admin API and the key guard', () => {
  let gw1: TestGateway;
  let gw2: TestGateway;
  let admin: { key: string; userId: string };

  beforeAll(async () => {
    gw1 = await startGateway();
    gw2 = await startGateway({ shareWith: gw1 });
    admin = await createAdminKey(gw1);
  });
  afterAll(async () => {
    await gw2?.close();
    await gw1?.close();
  });

  it('creates a key that works at once and is shown only once', async () => {
    const created = await call(gw1, 'POST', '/admin/api/keys', admin.key, {
      name: 'ci',
      allowedModels: ['gpt-5*'],
      rpm: 3,
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^sk-cg-[0-9A-Za-z]{43}$/);
    expect(created.body.prefix).toBe(created.body.key.slice(0, 10));
    expect(created.body.limits.rpm).toBe(3);
    expect(created.body).not.toHaveProperty('hash');

    const me = await call(gw1, 'GET', '/v1/me', created.body.key);
    expect(me.status).toBe(200);
    expect(me.body.key_id).toBe(created.body.id);
    expect(me.body.scope).toBe('api');

    const one = await call(gw1, 'GET', `/admin/api/keys/${created.body.id}`, admin.key);
    expect(one.status).toBe(200);
    expect(JSON.stringify(one.body)).not.toContain(created.body.key);
    const list = await call(gw1, 'GET', '/admin/api/keys', admin.key);
    expect(list.status).toBe(200);
    const row = list.body.data.find((k: any) => k.id === created.body.id);
    expect(row.owner.id).toBe(admin.userId);
    expect(row.usage).toEqual(expect.objectContaining({ tokensToday: expect.any(Number) }));
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
  });

  it('revocation reaches another replica within 1 s', async () => {
    const created = await call(gw1, 'POST', '/admin/api/keys', admin.key, { name: 'to revoke' });
    const key = created.body.key as string;
    // Warm both replicas' caches.
    expect((await call(gw1, 'GET', '/v1/me', key)).status).toBe(200);
    expect((await call(gw2, 'GET', '/v1/me', key)).status).toBe(200);
    const revoked = await call(gw1, 'DELETE', `/admin/api/keys/${created.body.id}`, admin.key);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    await eventually(
      async () => (await call(gw2, 'GET', '/v1/me', key)).status === 401,
      'the revoked key refused on the other replica',
      1000,
      25,
    );
    const r = await call(gw2, 'GET', '/v1/me', key);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('invalid_api_key');
  });

  it('refuses missing, unknown, expired keys and keys of disabled users with 401 invalid_api_key', async () => {
    const none = await call(gw1, 'GET', '/admin/api/users');
    expect(none.status).toBe(401);
    const unknown = await call(gw1, 'GET', '/v1/me', 'sk-cg-' + 'x'.repeat(43));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('invalid_api_key');

    const expired = await createKey(gw1, { expiresAt: new Date(Date.now() - 1000) });
    expect((await call(gw1, 'GET', '/v1/me', expired.key)).status).toBe(401);

    // Expiry is checked on every request, also for a key already in the cache.
    const soon = await createKey(gw1, { expiresAt: new Date(Date.now() + 1500) });
    expect((await call(gw1, 'GET', '/v1/me', soon.key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await call(gw1, 'GET', '/v1/me', soon.key)).status).toBe(401);

    const member = await createKey(gw1);
    expect((await call(gw2, 'GET', '/v1/me', member.key)).status).toBe(200);
    const dis = await call(gw1, 'PATCH', `/admin/api/users/${member.userId}`, admin.key, { disabled: true });
    expect(dis.status).toBe(200);
    await eventually(
      async () => (await call(gw2, 'GET', '/v1/me', member.key)).status === 401,
      'the key refused on the other replica',
      1000,
      25,
    );
  });

  it('rotates: new secret, same settings, old one revoked', async () => {
    const created = await call(gw1, 'POST', '/admin/api/keys', admin.key, {
      name: 'rot',
      tpm: 1000,
      allowedModels: ['gpt-5.5'],
    });
    const rotated = await call(gw1, 'POST', `/admin/api/keys/${created.body.id}/rotate`, admin.key);
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).toMatch(/^sk-cg-/);
    expect(rotated.body.key).not.toBe(created.body.key);
    expect(rotated.body.limits.tpm).toBe(1000);
    expect(rotated.body.allowedModels).toEqual(['gpt-5.5']);
    expect(rotated.body.name).toBe('rot');
    expect((await call(gw1, 'GET', '/v1/me', rotated.body.key)).status).toBe(200);
    expect((await call(gw1, 'GET', '/v1/me', created.body.key)).status).toBe(401);
  });

  it('updates limits and models; the guard sees the change on the other replica', async () => {
    const created = await call(gw1, 'POST', '/admin/api/keys', admin.key, { name: 'upd' });
    expect((await call(gw2, 'GET', '/v1/me', created.body.key)).status).toBe(200);
    const upd = await call(gw1, 'PATCH', `/admin/api/keys/${created.body.id}`, admin.key, {
      rpm: 7,
      allowedModels: ['gpt-5*'],
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(upd.status).toBe(200);
    expect(upd.body.limits.rpm).toBe(7);
    await eventually(
      async () => (await call(gw2, 'GET', '/v1/me', created.body.key)).status === 401,
      'the key refused on the other replica',
      1000,
      25,
    );
    const bad = await call(gw1, 'PATCH', `/admin/api/keys/${created.body.id}`, admin.key, { rpm: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('rpm');
  });

  it('members: no admin routes; own api keys only when the setting allows it, never admin keys', async () => {
    const member = await signIn(gw1);
    const m = (method: string, path: string, body?: unknown) => sess(gw1, method, path, member, body);
    expect((await m('GET', '/admin/api/users')).status).toBe(403);
    expect((await m('PUT', '/admin/api/settings', { members_can_create_keys: true })).status).toBe(403);
    expect((await m('POST', '/admin/api/keys', { name: 'mine' })).status).toBe(403);
    // An inference key of the member never reaches /admin/api (issue 11 item 5).
    const inference = await createKey(gw1, { userId: member.userId });
    expect((await call(gw1, 'GET', '/admin/api/keys', inference.key)).status).toBe(403);

    const on = await call(gw1, 'PUT', '/admin/api/settings', admin.key, { members_can_create_keys: true });
    expect(on.status).toBe(200);
    expect(on.body.members_can_create_keys).toBe(true);
    const mine = await m('POST', '/admin/api/keys', { name: 'mine' });
    expect(mine.status).toBe(201);
    expect(mine.body.owner.id).toBe(member.userId);
    expect((await m('POST', '/admin/api/keys', { name: 'x', scope: 'admin' })).status).toBe(403);
    expect((await m('POST', '/admin/api/keys', { name: 'x', userId: admin.userId })).status).toBe(403);
    const list = await m('GET', '/admin/api/keys');
    expect(list.status).toBe(200);
    expect(list.body.data.every((k: any) => k.owner.id === member.userId)).toBe(true);
    expect(list.body.data.length).toBe(2);
    // Another user's key is invisible to a member.
    expect((await m('DELETE', `/admin/api/keys/${mine.body.id}`)).status).toBe(200);
    const other = await call(gw1, 'POST', '/admin/api/keys', admin.key, { name: 'admin own' });
    expect((await m('DELETE', `/admin/api/keys/${other.body.id}`)).status).toBe(404);

    await call(gw1, 'PUT', '/admin/api/settings', admin.key, { members_can_create_keys: false });
    expect((await m('GET', '/admin/api/keys')).status).toBe(403);
  });

  it('an admin key reaches admin routes; an api-scoped key of an admin does not', async () => {
    expect((await call(gw1, 'GET', '/admin/api/users', admin.key)).status).toBe(200);
    const apiKeyOfAdmin = await createKey(gw1, { userId: admin.userId, scope: 'api' });
    expect((await call(gw1, 'GET', '/admin/api/users', apiKeyOfAdmin.key)).status).toBe(403);
    // Admin keys only for admins.
    const member = await createUser(gw1);
    const r = await call(gw1, 'POST', '/admin/api/keys', admin.key, { userId: member.id, scope: 'admin' });
    expect(r.status).toBe(400);
  });

  it('deleting a user revokes their keys', async () => {
    const u = await call(gw1, 'POST', '/admin/api/users', admin.key, {
      email: 'gone@example.test',
      name: 'Gone',
    });
    expect(u.status).toBe(201);
    const dup = await call(gw1, 'POST', '/admin/api/users', admin.key, { email: 'GONE@example.test' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.param).toBe('email');
    const k = await call(gw1, 'POST', '/admin/api/keys', admin.key, { userId: u.body.id, name: 'k' });
    expect((await call(gw2, 'GET', '/v1/me', k.body.key)).status).toBe(200);
    expect((await call(gw1, 'DELETE', `/admin/api/users/${u.body.id}`, admin.key)).status).toBe(200);
    await eventually(
      async () => (await call(gw2, 'GET', '/v1/me', k.body.key)).status === 401,
      'the key refused on the other replica',
      1000,
      25,
    );
    const audit = await dbRows(
      gw1,
      `SELECT action FROM audit_logs WHERE "targetId" = '${u.body.id}' ORDER BY id`,
    );
    expect(audit.map((a) => a.action)).toEqual(['user.create', 'user.delete']);
  });

  it('writes lastUsedAt in batches', async () => {
    const lastUsed = async (keyId: string): Promise<Date | null> =>
      (await dbRows(gw1, `SELECT "lastUsedAt" FROM api_keys WHERE id = '${keyId}'`))[0].lastUsedAt;
    const first = await createKey(gw1);
    const [k2, k3] = [await createKey(gw1), await createKey(gw1)];
    // Wait for one flush of this replica (it follows the first key's use), so the next one is a full period away.
    expect((await call(gw1, 'GET', '/v1/me', first.key)).status).toBe(200);
    await eventually(
      async () => (await lastUsed(first.keyId)) !== null,
      'the first lastUsedAt flush',
      8000,
      25,
    );
    // Two keys used now: nothing is written per request...
    expect((await call(gw1, 'GET', '/v1/me', k2.key)).status).toBe(200);
    expect((await call(gw1, 'GET', '/v1/me', k3.key)).status).toBe(200);
    expect([await lastUsed(k2.keyId), await lastUsed(k3.keyId)]).toEqual([null, null]);
    // ...both land in the next flush, one statement with one timestamp.
    await eventually(
      async () => (await lastUsed(k2.keyId)) !== null && (await lastUsed(k3.keyId)) !== null,
      'the next lastUsedAt flush',
      8000,
      25,
    );
    const [t2, t3] = [await lastUsed(k2.keyId), await lastUsed(k3.keyId)];
    expect(t2!.getTime()).toBe(t3!.getTime());
    expect(t2!.getTime()).toBeGreaterThan((await lastUsed(first.keyId))!.getTime());
  }, 20000);

  it('flushes pending lastUsedAt writes on shutdown', async () => {
    const gw3 = await startGateway({ shareWith: gw1 });
    const k = await createKey(gw1);
    expect((await call(gw3, 'GET', '/v1/me', k.key)).status).toBe(200);
    await gw3.close();
    const rows = await dbRows(gw1, `SELECT "lastUsedAt" FROM api_keys WHERE id = '${k.keyId}'`);
    expect(rows[0].lastUsedAt).not.toBeNull();
  });

  it('documents the keys, users, settings and auth endpoints in OpenAPI', async () => {
    const doc = (await (await fetch(`${gw1.url}/admin/api/openapi.json`)).json()) as any;
    for (const p of [
      '/admin/api/keys',
      '/admin/api/keys/{id}',
      '/admin/api/keys/{id}/rotate',
      '/admin/api/users',
      '/admin/api/users/{id}',
      '/admin/api/settings',
      '/admin/api/auth/login',
      '/admin/api/auth/logout',
      '/admin/api/auth/me',
    ]) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });

  it('stores no plain key anywhere: not in api_keys, audit_logs, or the logs', async () => {
    const created = await call(gw1, 'POST', '/admin/api/keys', admin.key, { name: 'secret check' });
    const rotated = await call(gw1, 'POST', `/admin/api/keys/${created.body.id}/rotate`, admin.key);
    await call(gw1, 'GET', '/v1/me', rotated.body.key);
    const secrets = [created.body.key, rotated.body.key, admin.key].map((k: string) => k.slice(6));
    const dump = JSON.stringify([
      await dbRows(gw1, 'SELECT * FROM api_keys'),
      await dbRows(gw1, 'SELECT * FROM audit_logs'),
      await dbRows(gw1, 'SELECT * FROM users'),
      await dbRows(gw1, 'SELECT * FROM settings'),
    ]);
    for (const s of secrets) {
      expect(dump).not.toContain(s);
      expect(gw1.logs.text).not.toContain(s);
      expect(gw2.logs.text).not.toContain(s);
    }
    expect(dump).toContain(created.body.prefix);
    const audit = await dbRows(gw1, `SELECT action FROM audit_logs WHERE action LIKE 'key.%'`);
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['key.create', 'key.rotate', 'key.revoke', 'key.update']),
    );
  });
});
