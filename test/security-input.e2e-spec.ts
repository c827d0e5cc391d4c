import { randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { call, isEnvelope, parseRaw, rawHttp } from './support/http.js';

/**
 * Issue 11, items 9 (bad input is a 4xx in the envelope, never a 5xx) and 10 (errors raised by Node/Fastify before
 * our handlers use the envelope too; empty JSON bodies on DELETE/GET work).
 */
const jwt = (payload: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.x`;

function authJson(accountId: string, userId = 'user-1') {
  const auth = { chatgpt_account_id: accountId, chatgpt_user_id: userId, chatgpt_plan_type: 'team' };
  return {
    tokens: {
      id_token: jwt({ email: 'x@example.com', 'https://api.openai.com/auth': auth }),
      access_token: jwt({ exp: Math.floor(Date.now() / 1000) + 7200, 'https://api.openai.com/auth': auth }),
      refresh_token: `rt_${randomBytes(16).toString('hex')}`,
      account_id: accountId,
    },
  };
}

function expect4xx(r: { status: number; body: any }, status: number | number[], what: string) {
  const ok = Array.isArray(status) ? status : [status];
  expect(`${what}: ${r.status}`).toBe(`${what}: ${ok.includes(r.status) ? r.status : ok[0]}`);
  expect(isEnvelope(r.body)).toBe(true);
}

describe('security: bad input never becomes a 5xx', () => {
  let gw: TestGateway;
  let admin: string;
  beforeAll(async () => {
    gw = await startGateway();
    admin = (await createAdminKey(gw)).key;
  });
  afterAll(async () => {
    await gw?.close();
  });

  describe('item 9', () => {
    it('NUL in the sign-in email → 400', async () => {
      const r = await call(gw, 'POST', '/admin/api/auth/login', {
        body: { email: 'a\u0000b@example.test', password: 'whatever-pass' },
      });
      expect4xx(r, 400, 'login NUL');
    });

    it('NUL in user email/name and key name → 400', async () => {
      expect4xx(
        await call(gw, 'POST', '/admin/api/users', { key: admin, body: { email: 'n\u0000@example.test' } }),
        400,
        'user email',
      );
      expect4xx(
        await call(gw, 'POST', '/admin/api/users', {
          key: admin,
          body: { email: 'nul@example.test', name: 'a\u0000b' },
        }),
        400,
        'user name',
      );
      expect4xx(
        await call(gw, 'POST', '/admin/api/keys', { key: admin, body: { name: 'k\u0000' } }),
        400,
        'key name',
      );
    });

    it('rpm/tpm ≥ 2^31 and quotas beyond 2^53 → 400 naming the field', async () => {
      for (const field of ['rpm', 'tpm']) {
        const r = await call(gw, 'POST', '/admin/api/keys', { key: admin, body: { [field]: 2 ** 31 } });
        expect4xx(r, 400, field);
        expect(r.body.error.param).toBe(field);
      }
      const q = await call(gw, 'POST', '/admin/api/keys', {
        key: admin,
        raw: '{"dailyTokenQuota": 9223372036854775808}',
      });
      expect4xx(q, 400, 'quota');
      const created = await call(gw, 'POST', '/admin/api/keys', { key: admin, body: { name: 'ok' } });
      const p = await call(gw, 'PATCH', `/admin/api/keys/${created.body.id}`, {
        key: admin,
        body: { tpm: 2 ** 40 },
      });
      expect4xx(p, 400, 'patch tpm');
    });

    it('expiresAt in year 0000 (or 10000) → 400', async () => {
      for (const expiresAt of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z']) {
        const r = await call(gw, 'POST', '/admin/api/keys', { key: admin, body: { expiresAt } });
        expect4xx(r, 400, `expiresAt ${expiresAt}`);
      }
    });

    it('36-character non-UUID ids on keys/users routes → 404', async () => {
      const id = '------------------------------------';
      const hexy = 'ffffffff-ffff-ffff-ffff-fffffffffffffff'.slice(0, 36).replace(/-/g, 'f');
      for (const bad of [id, hexy, 'gggggggg-gggg-gggg-gggg-gggggggggggg']) {
        for (const [method, path] of [
          ['GET', `/admin/api/keys/${bad}`],
          ['PATCH', `/admin/api/keys/${bad}`],
          ['DELETE', `/admin/api/keys/${bad}`],
          ['POST', `/admin/api/keys/${bad}/rotate`],
          ['PATCH', `/admin/api/users/${bad}`],
          ['DELETE', `/admin/api/users/${bad}`],
        ] as const) {
          const r = await call(gw, method, path, {
            key: admin,
            body: method === 'PATCH' ? { name: 'x' } : undefined,
          });
          expect4xx(r, 404, `${method} ${path}`);
        }
      }
    });

    it('userId query malformed or repeated → 400 param userId', async () => {
      for (const q of ['userId=nope', 'userId=a&userId=b', `userId=${'-'.repeat(36)}`]) {
        const r = await call(gw, 'GET', `/admin/api/keys?${q}`, { key: admin });
        expect4xx(r, [400], q);
      }
      const ok = await call(gw, 'GET', `/admin/api/keys?userId=`, { key: admin });
      expect(ok.status).toBe(200);
    });

    it('usage from/to at the far ends of the Date range → 400', async () => {
      for (const q of [
        'from=-271821-04-20T00:00:00Z',
        'from=275760-09-13T00:00:00Z',
        'to=275760-09-13T00:00:00Z',
        'from=8640000000000000',
        'from=-8640000000000000',
        'from=0000-01-01',
        'from=nonsense',
      ]) {
        const r = await call(gw, 'GET', `/admin/api/usage?${q}`, { key: admin });
        expect4xx(r, 400, q);
      }
    });

    it('a /v1/responses body nested 10k levels deep → 400 (depth limit), not a stack overflow', async () => {
      const { key } = await createKey(gw);
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      for (const path of ['/v1/responses', '/v1/chat/completions', '/admin/api/keys']) {
        const r = await call(gw, 'POST', path, {
          key: path.startsWith('/v1') ? key : admin,
          raw: `{"model":"gpt-5.5","input":${deep},"messages":${deep}}`,
        });
        expect4xx(r, 400, path);
        expect(r.body.error.code).toBe('json_too_deep');
      }
      // Reasonable nesting still works as before (reaches validation).
      const ok = await call(gw, 'POST', '/admin/api/keys', {
        key: admin,
        raw: `{"name":"n","allowedModels":${'['.repeat(20)}${']'.repeat(20)}}`,
      });
      expect(ok.status).toBe(400);
      expect(ok.body.error.code).not.toBe('json_too_deep');
    });

    it('an imported account whose chatgpt_account_id or user id claim holds CR/LF → 400', async () => {
      for (const file of [
        authJson('acct\r\nx-evil: 1'),
        authJson('acct-ok', 'user\nx'),
        authJson('acct-\u4e2d'),
      ]) {
        const r = await call(gw, 'POST', '/admin/api/accounts/import', { key: admin, body: file });
        expect4xx(r, 400, 'import');
      }
      const rows = await call(gw, 'GET', '/admin/api/accounts', { key: admin });
      expect(rows.body.data).toHaveLength(0);
    });
  });

  describe('item 10: errors before our handlers use the envelope', () => {
    const host = () => new URL(gw.url).host;

    it('bad Content-Length → 400 envelope', async () => {
      const out = parseRaw(
        await rawHttp(
          gw,
          `POST /v1/responses HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
        ),
      );
      expect(out.status).toBe(400);
      expect(isEnvelope(out.body)).toBe(true);
    });

    it('Content-Length together with Transfer-Encoding → 400 envelope', async () => {
      const out = parseRaw(
        await rawHttp(
          gw,
          `POST /v1/responses HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
        ),
      );
      expect(out.status).toBe(400);
      expect(isEnvelope(out.body)).toBe(true);
    });

    it('oversized headers → 431 envelope', async () => {
      const out = parseRaw(
        await rawHttp(
          gw,
          `GET /v1/models HTTP/1.1\r\nHost: ${host()}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        ),
      );
      expect(out.status).toBe(431);
      expect(isEnvelope(out.body)).toBe(true);
    });

    it('over-long path parameter → 414 envelope', async () => {
      const r = await call(gw, 'GET', `/admin/api/keys/${'a'.repeat(500)}`, { key: admin });
      expect(r.status).toBe(414);
      expect(isEnvelope(r.body)).toBe(true);
    });

    it('bad URL encoding → 400 envelope', async () => {
      const out = parseRaw(
        await rawHttp(gw, `GET /admin/api/keys/%E0%A4%A HTTP/1.1\r\nHost: ${host()}\r\n\r\n`),
      );
      expect([400, 404]).toContain(out.status);
      expect(isEnvelope(out.body)).toBe(true);
      const r = await call(gw, 'GET', '/v1/models/%', { key: admin });
      expect(r.status).toBeLessThan(500);
      expect(isEnvelope(r.body)).toBe(true);
    });

    it('DELETE and GET with content-type application/json and an empty body work', async () => {
      const created = await call(gw, 'POST', '/admin/api/keys', { key: admin, body: { name: 'del' } });
      const get = await call(gw, 'GET', `/admin/api/keys/${created.body.id}`, {
        key: admin,
        headers: { 'content-type': 'application/json' },
      });
      expect(get.status).toBe(200);
      const del = await call(gw, 'DELETE', `/admin/api/keys/${created.body.id}`, {
        key: admin,
        headers: { 'content-type': 'application/json' },
      });
      expect(del.status).toBe(200);
      expect(del.body.revokedAt).toEqual(expect.any(String));
      // POST with an empty JSON body still says what is wrong (400, not 500).
      const post = await call(gw, 'POST', '/v1/responses', {
        key: admin,
        headers: { 'content-type': 'application/json' },
      });
      expect4xx(post, 400, 'empty POST');
    });

    it('form-urlencoded bodies are refused on JSON routes (415)', async () => {
      const r = await call(gw, 'POST', '/admin/api/keys', {
        key: admin,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        raw: 'name=x',
      });
      // `raw` sets application/json first; the explicit header wins.
      expect4xx(r, 415, 'form');
    });
  });
});
