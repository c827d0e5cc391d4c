import { randomBytes } from 'node:crypto';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call, isEnvelope } from './support/http.js';
import { eventually, query } from './support/wait.js';

/**
 * Issue 11, items 1 (model names at the edge), 2 (aborted streams are charged), 3 (atomic check-and-reserve)
 * and 5 (inference keys never reach /admin/api): real gateway, real Redis/Postgres, fake upstream over HTTP.
 */
describe('security: model requests and limits', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let a: ReturnType<FakeUpstream['addAccount']>;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
    a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const usageRows = (keyId: string) =>
    query(gw, 'SELECT * FROM usage_records WHERE "keyId" = $1 ORDER BY id', [keyId]);

  describe('item 1: model names are validated at the edge', () => {
    const hostile = [
      ['NUL byte', 'gpt-5\u0000x'],
      ['CR/LF', 'gpt-5\r\nx-injected: 1'],
      ['non-Latin-1', 'gpt-5-\u4e2d\u6587'],
      ['control char', 'gpt\u0007-5'],
      ['too long', 'g'.repeat(300)],
      ['empty', ''],
    ] as const;

    it.each(hostile)(
      '%s in model → 400 param "model" on /v1/responses and /v1/chat/completions, nothing recorded',
      async (_name, model) => {
        const { key, keyId } = await createKey(gw, { allowedModels: ['other-model'] });
        const before = fake.requestsTo('/backend-api/codex/responses').length;
        const r1 = await call(gw, 'POST', '/v1/responses', { key, body: { model, input: 'hi' } });
        const r2 = await call(gw, 'POST', '/v1/chat/completions', {
          key,
          body: { model, messages: [{ role: 'user', content: 'hi' }] },
        });
        for (const r of [r1, r2]) {
          expect(r.status).toBe(400);
          expect(isEnvelope(r.body)).toBe(true);
          expect(r.body.error.param).toBe('model');
        }
        expect(fake.requestsTo('/backend-api/codex/responses').length).toBe(before);
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        if (model) expect(metrics).not.toContain(model);
        expect(metrics).not.toContain('\u0000');
        await new Promise((r) => setTimeout(r, 1200));
        expect(await usageRows(keyId)).toHaveLength(0);
      },
    );

    it('usage accounting keeps working after hostile model names (a normal request is recorded)', async () => {
      const { key, keyId } = await createKey(gw);
      await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5\u0000', input: 'hi' } });
      fake.respondWith({ text: 'ok', usage: { input_tokens: 10, output_tokens: 5 } });
      const ok = await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
      expect(ok.status).toBe(200);
      await eventually(async () => (await usageRows(keyId)).length === 1, 'the usage row');
      expect(Number((await usageRows(keyId))[0].totalTokens)).toBe(15);
    });
  });

  describe('item 3: token budgets are checked and reserved in one atomic step', () => {
    it('20 parallel requests on a 100-token daily quota: one is admitted, the rest get 429 insufficient_quota', async () => {
      const { key, keyId } = await createKey(gw, { dailyTokenQuota: 100 });
      fake.respondWith({ text: 'x', usage: { input_tokens: 1500, output_tokens: 500 } }, 20);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } }),
        ),
      );
      const admitted = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429);
      const tokens = (await call(gw, 'GET', '/v1/me', { key })).body.usage.tokensToday;
      console.log(`parallel daily quota 100: admitted ${admitted}/20, tokens used ${tokens}`);
      expect(admitted).toBe(1);
      expect(tokens).toBe(2000);
      await eventually(async () => (await usageRows(keyId)).length === 20, 'usage rows');
      expect(refused.length).toBe(19);
      for (const r of refused) expect(r.body.error.code).toBe('insufficient_quota');
      fake.reset();
    }, 30_000);

    it('monthly quota and TPM are atomic too; TPM reserves an output estimate', async () => {
      const m = await createKey(gw, { monthlyTokenQuota: 100 });
      fake.respondWith({ text: 'x', usage: { input_tokens: 150, output_tokens: 50 } }, 10);
      const rm = await Promise.all(
        Array.from({ length: 10 }, () =>
          call(gw, 'POST', '/v1/responses', { key: m.key, body: { model: 'gpt-5.5', input: 'hi' } }),
        ),
      );
      const admittedMonth = rm.filter((r) => r.status === 200).length;
      console.log(`parallel monthly quota 100: admitted ${admittedMonth}/10`);
      expect(admittedMonth).toBe(1);
      fake.reset();

      const t = await createKey(gw, { tpm: 100 });
      fake.respondWith({ text: 'x', usage: { input_tokens: 150, output_tokens: 50 } }, 10);
      const rt = await Promise.all(
        Array.from({ length: 10 }, () =>
          call(gw, 'POST', '/v1/responses', { key: t.key, body: { model: 'gpt-5.5', input: 'hi' } }),
        ),
      );
      const admitted = rt.filter((r) => r.status === 200).length;
      console.log(`parallel tpm 100: admitted ${admitted}/10`);
      expect(admitted).toBe(1);
      const refused = rt.find((r) => r.status === 429)!;
      expect(refused.body.error.code).toBe('rate_limit_exceeded');
      expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe('100');
      fake.reset();
    }, 30_000);

    it('settles with the real usage: a small quota left after a cheap request still admits the next one', async () => {
      const { key } = await createKey(gw, { dailyTokenQuota: 5000 });
      fake.respondWith({ text: 'x', usage: { input_tokens: 10, output_tokens: 5 } }, 3);
      for (let i = 0; i < 3; i++) {
        const r = await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
        expect(r.status).toBe(200);
      }
      const me = await call(gw, 'GET', '/v1/me', { key });
      expect(me.body.usage.tokensToday).toBe(45);
    });
  });

  describe('item 2: an aborted stream is charged what was produced', () => {
    /** Streams /v1/responses and closes the connection right after the last text delta. */
    async function abortAfterText(key: string): Promise<string> {
      const ac = new AbortController();
      const r = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.5', input: 'tell me a story', stream: true }),
        signal: ac.signal,
      });
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      let seen = '';
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += Buffer.from(value).toString('utf8');
        if (seen.includes('response.output_text.done')) break;
      }
      for (const m of seen.matchAll(/"delta":"((?:[^"\\]|\\.)*)"/g)) text += JSON.parse(`"${m[1]}"`);
      ac.abort();
      return text;
    }

    it('client closes after the last text delta: the row is client_aborted with input estimate + relayed output; quota charged', async () => {
      const { key, keyId } = await createKey(gw, { dailyTokenQuota: 1_000_000 });
      const story = 'once upon a time '.repeat(40);
      fake.fault(a.chatgptAccountId, { kind: 'stall_before_terminal', ms: 3000 });
      fake.respondWith({ text: story, usage: { input_tokens: 50, output_tokens: 170 } });
      const relayed = await abortAfterText(key);
      expect(relayed).toBe(story);
      await eventually(async () => (await usageRows(keyId)).length === 1, 'the usage row');
      const [row] = await usageRows(keyId);
      console.log(
        `aborted stream charged: input ${row.inputTokens}, output ${row.outputTokens}, total ${row.totalTokens} (before the fix: 0)`,
      );
      expect(row.errorClass).toBe('client_aborted');
      expect(row.outputTokens).toBe(Math.ceil(story.length / 4));
      expect(row.inputTokens).toBeGreaterThan(0);
      expect(row.totalTokens).toBe(row.inputTokens + row.outputTokens);
      const me = await call(gw, 'GET', '/v1/me', { key });
      expect(me.body.usage.tokensToday).toBe(row.totalTokens);
    }, 30_000);

    it('TPM: aborting after the answer does not make the next request free', async () => {
      const { key } = await createKey(gw, { tpm: 200 });
      fake.respondWith({ text: 'word '.repeat(200), usage: { input_tokens: 10, output_tokens: 250 } });
      await abortAfterText(key);
      await new Promise((r) => setTimeout(r, 300));
      const next = await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'x' } });
      expect(next.status).toBe(429);
      expect(next.body.error.code).toBe('rate_limit_exceeded');
    }, 30_000);
  });

  describe('item 7: metric label cardinality', () => {
    it('100 requests with random model names do not grow /metrics: unknown models are labelled other', async () => {
      const { key } = await createKey(gw);
      fake.respondWith({ text: 'ok', usage: { input_tokens: 1, output_tokens: 1 } });
      await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'warm up' } });
      const before = (await (await fetch(`${gw.url}/metrics`)).text()).length;
      const names: string[] = [];
      for (let i = 0; i < 100; i++) {
        const model = `zz-${randomBytes(60).toString('hex')}`;
        names.push(model);
        await call(gw, 'POST', '/v1/responses', { key, body: { model, input: 'x' } });
      }
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      console.log(`/metrics size: ${before} bytes before, ${text.length} after 100 random model names`);
      for (const n of names.slice(0, 5)) expect(text).not.toContain(n);
      expect(text).toMatch(/cg_requests_total\{[^}]*model="other"/);
      expect(text).toMatch(/cg_requests_total\{[^}]*model="gpt-5.5"/);
      expect(text.length - before).toBeLessThan(4_000);
      // Account series are labelled by label or id, never by email address.
      expect(text).not.toMatch(/account="[^"]*@/);
    }, 60_000);
  });

  describe('item 5: inference keys never reach /admin/api', () => {
    it('an api-scoped key gets 403 on every /admin/api route, including /keys and /auth/me', async () => {
      const admin = await createAdminKey(gw);
      await call(gw, 'PUT', '/admin/api/settings', {
        key: admin.key,
        body: { members_can_create_keys: true },
      });
      const member = await createKey(gw);
      const adminsApiKey = await createKey(gw, { userId: admin.userId, scope: 'api' });
      for (const k of [member.key, adminsApiKey.key]) {
        for (const [method, path, body] of [
          ['GET', '/admin/api/keys', undefined],
          ['POST', '/admin/api/keys', { name: 'minted' }],
          ['GET', '/admin/api/auth/me', undefined],
          ['GET', '/admin/api/users', undefined],
          ['GET', '/admin/api/usage', undefined],
        ] as const) {
          const r = await call(gw, method, path, { key: k, body });
          expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 403`);
          expect(r.body.error.code).toBe('admin_scope_required');
        }
      }
      const keys = await query(gw, `SELECT count(*)::int AS n FROM api_keys WHERE name = 'minted'`);
      expect(keys[0].n).toBe(0);
      // An unknown key is still 401 (authentication before the scope check).
      expect((await call(gw, 'GET', '/admin/api/keys', { key: 'sk-cg-' + 'x'.repeat(43) })).status).toBe(401);
    });
  });
});
