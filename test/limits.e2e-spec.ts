import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/** Per-key RPM, TPM and token quotas, counted in Redis from real usage (issue 3), through the openai SDK. */
describe('limits', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const client = (key: string, maxRetries = 0) =>
    new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries });

  it('RPM 3: the 4th request gets 429 with Retry-After and x-ratelimit headers; the SDK retry succeeds after the window', async () => {
    const { key } = await createKey(gw, { rpm: 3 });
    const c = client(key);
    for (let i = 0; i < 3; i++) {
      const r = await c.models.list().withResponse();
      expect(r.response.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(r.response.headers.get('x-ratelimit-remaining-requests')).toBe(String(2 - i));
    }
    const err = await c.models.list().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const retryAfter = Number(err.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(err.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(err.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s|m\d+s)$/);
    expect(err.code).toBe('rate_limit_exceeded');
    // The SDK honours retry-after-ms / Retry-After by itself: with retries on, the same call succeeds later.
    const t0 = Date.now();
    const ok = await client(key, 2).models.list();
    expect(ok.data.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThan(500);
  }, 90_000);

  it('TPM counts the real tokens of finished requests', async () => {
    const { key } = await createKey(gw, { tpm: 1000 });
    const c = client(key);
    fake.respondWith({ text: 'big', usage: { input_tokens: 900, output_tokens: 200 } });
    await c.responses.create({ model: 'gpt-5.5', input: 'hi' });
    const err = await c.responses.create({ model: 'gpt-5.5', input: 'again' }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    expect(err.message).toContain('tokens per minute');
  });

  it('daily quota: refused with insufficient_quota once real usage reached it; /v1/me shows why', async () => {
    const { key, keyId } = await createKey(gw, { dailyTokenQuota: 500 });
    const c = client(key);
    fake.respondWith({ text: 'ok', usage: { input_tokens: 300, output_tokens: 250 } });
    await c.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] });
    const err = await c.chat.completions
      .create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('insufficient_quota');
    expect(Number(err.headers.get('retry-after'))).toBeGreaterThan(0);
    const me = await fetch(`${gw.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as any;
    expect(body).toMatchObject({
      key_id: keyId,
      limits: { dailyTokenQuota: 500 },
      usage: { tokensToday: 550, tokensThisMonth: 550 },
    });
    expect(JSON.stringify(body)).not.toContain(key);
  });

  it('two replicas share the counters', async () => {
    const gw2 = await startGateway({
      shareWith: gw,
      env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl },
    });
    try {
      const { key } = await createKey(gw, { rpm: 2 });
      await client(key).models.list();
      await new OpenAI({ apiKey: key, baseURL: `${gw2.url}/v1`, maxRetries: 0 }).models.list();
      const err = await client(key)
        .models.list()
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      await gw2.close();
    }
  });
});
