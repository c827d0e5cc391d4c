import OpenAI from 'openai';
import pg from 'pg';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/** Usage records (one row per request, batched) and Prometheus metrics that match the requests made. */
describe('usage records and metrics', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  let admin: string;
  let keyId: string;
  let acctId: string;
  let chatgptAccountId: string;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({
      env: {
        OPENAI_AUTH_ISSUER: fake.url,
        CODEX_BASE_URL: fake.codexBaseUrl,
        METRICS_TOKEN: 'metrics-secret-1',
      },
    });
    const a = fake.addAccount();
    chatgptAccountId = a.chatgptAccountId;
    acctId = await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: 'team-a' });
    const k = await createKey(gw);
    keyId = k.keyId;
    client = new OpenAI({ apiKey: k.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    admin = (await createAdminKey(gw)).key;
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  async function rows(): Promise<any[]> {
    const c = new pg.Client({ connectionString: gw.db.url });
    await c.connect();
    try {
      return (await c.query('SELECT * FROM usage_records ORDER BY id')).rows;
    } finally {
      await c.end();
    }
  }

  it('writes one row per request with tokens, timing, account and outcome; the admin API aggregates them', async () => {
    fake.respondWith({
      text: 'a',
      usage: { input_tokens: 10, cached_tokens: 4, output_tokens: 6, reasoning_tokens: 2 },
    });
    await client.responses.create({ model: 'gpt-5.5', input: 'one' });
    fake.respondWith({ text: 'b', usage: { input_tokens: 20, output_tokens: 5 } });
    const s = await client.chat.completions.create({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'two' }],
      stream: true,
    });
    for await (const _c of s) {
      /* drain */
    }
    fake.fault(chatgptAccountId, { kind: 'cut_stream', afterEvents: 5 });
    const cut = await client.responses.create({ model: 'gpt-5.5', input: 'three', stream: true });
    await (async () => {
      for await (const _e of cut) {
        /* drain */
      }
    })().catch(() => {});

    const usage = await fetch(`${gw.url}/admin/api/usage?group_by=model`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(usage.status).toBe(200);
    const agg = (await usage.json()) as any;
    expect(agg.data).toEqual([expect.objectContaining({ group: 'gpt-5.5', requests: 3, input_tokens: 30 })]);

    const r = await rows();
    expect(r).toHaveLength(3);
    expect(r[0]).toMatchObject({
      keyId,
      accountId: acctId,
      endpoint: 'responses',
      stream: false,
      status: 200,
      errorClass: null,
      inputTokens: 10,
      cachedTokens: 4,
      outputTokens: 6,
      reasoningTokens: 2,
      totalTokens: 16,
      attempts: 1,
    });
    expect(r[0].ttfbMs).toEqual(expect.any(Number));
    expect(r[1]).toMatchObject({ endpoint: 'chat', stream: true, inputTokens: 20, outputTokens: 5 });
    expect(r[2]).toMatchObject({ endpoint: 'responses', stream: true, errorClass: 'stream_disconnected' });
  });

  it('exposes metrics behind the token, with values matching the requests', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const m = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-1' } })
    ).text();
    const value = (line: string) =>
      Number(
        m
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')
          .pop(),
      );
    expect(value('cg_requests_total{endpoint="responses",model="gpt-5.5",status="200"}')).toBe(2);
    expect(value('cg_requests_total{endpoint="chat",model="gpt-5.5",status="200"}')).toBe(1);
    expect(value('cg_tokens_total{kind="input",model="gpt-5.5"}')).toBe(30);
    expect(value('cg_tokens_total{kind="cached",model="gpt-5.5"}')).toBe(4);
    expect(value('cg_request_duration_seconds_count{endpoint="responses"}')).toBe(2);
    expect(value('cg_inflight_streams')).toBe(0);
    expect(m).not.toContain(keyId);
  });

  it('counts a refused request too', async () => {
    const e = await client.responses
      .create({ model: 'gpt-5.5', input: 'x', previous_response_id: 'r' })
      .catch((x) => x);
    expect(e.status).toBe(400);
    const m = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-1' } })
    ).text();
    expect(m).toContain('cg_requests_total{endpoint="responses",model="gpt-5.5",status="400"} 1');
  });

  it('reports the usage-limit snapshot by label and counts token refreshes', async () => {
    fake.setUsageHeaders(chatgptAccountId, {
      primaryUsedPercent: 42,
      primaryWindowMinutes: 300,
      secondaryUsedPercent: 7,
      secondaryWindowMinutes: 10080,
    });
    fake.fault(chatgptAccountId, { kind: 'unauthorized' }, 2); // two 401s: the CLI refreshes on the second
    await client.responses.create({ model: 'gpt-5.5', input: 'after a 401' });
    const m = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-1' } })
    ).text();
    expect(m).toContain('cg_account_usage_limit_used_percent{account="team-a"} 42');
    expect(m).toContain('cg_token_refresh_total{outcome="success"} 1');
    expect(m).toContain('cg_accounts{status="active",enabled="true"} 1');
  });

  it('lists only allowed models and refuses a disallowed one on requests', async () => {
    const { key } = await createKey(gw, { allowedModels: ['gpt-5.5*'] });
    const c = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const ids = (await c.models.list()).data.map((x) => x.id);
    expect(ids).toContain('gpt-5.5-high');
    expect(ids).not.toContain('gpt-5.6-codex');
    expect(await c.models.retrieve('gpt-5.6-codex').catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const e = await c.responses.create({ model: 'gpt-5.6-codex', input: 'x' }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.message).toContain('gpt-5.6-codex');
  });
});
