import { FakeUpstream } from './fake-upstream/index.ts';
import type { TestGateway } from './support/gateway.js';
import { gatewayWithAccounts } from './support/scenario.js';
import { createKey } from './support/auth.js';
import { call, isEnvelope } from './support/http.js';
import { eventually, query } from './support/wait.js';

/**
 * Issue 22 (security, third pass), the compaction and reservation items: compaction reserves and settles like
 * /v1/responses (item 2), no reservation is sized from a cap the upstream does not enforce (item 3), and
 * compaction goes through the same model check and parameter table as every model route (item 5).
 */
let fake: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  fake = await FakeUpstream.start();
  ({ gw } = await gatewayWithAccounts(fake, 1));
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const usageRows = (keyId: string) =>
  query(gw, 'SELECT * FROM usage_records WHERE "keyId" = $1 ORDER BY id', [keyId]);
const compactCalls = () => fake.requestsTo('/backend-api/codex/responses/compact');
const history = [
  { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'please summarise this' }] },
];
const compactBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-5.5',
  input: history,
  instructions: 'compact the conversation',
  ...extra,
});

describe('item 2: compaction reserves and settles like /v1/responses', () => {
  it('20 parallel compactions on a 500-token daily quota never spend more than the quota', async () => {
    const { key, keyId } = await createKey(gw, { dailyTokenQuota: 500 });
    fake.compactWith({ usage: { input_tokens: 200, output_tokens: 100, total_tokens: 300 } }, 20);
    const all = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(gw, 'POST', '/v1/responses/compact', { key, body: compactBody() }),
      ),
    );
    const ok = all.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    for (const r of all.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(429);
      expect(isEnvelope(r.body)).toBe(true);
    }
    expect(ok * 300).toBeLessThanOrEqual(500);
    await eventually(async () => (await usageRows(keyId)).length === 20, 'the usage rows');
  });

  it('an answer without usage is charged an estimate (input + output), not 0', async () => {
    const { key, keyId } = await createKey(gw);
    const r = await call(gw, 'POST', '/v1/responses/compact', { key, body: compactBody() });
    expect(r.status).toBe(200);
    await eventually(async () => (await usageRows(keyId)).length === 1, 'the usage row');
    const [row] = await usageRows(keyId);
    expect(Number(row.inputTokens)).toBeGreaterThan(0);
    expect(Number(row.outputTokens)).toBeGreaterThan(0);
    expect(Number(row.totalTokens)).toBe(Number(row.inputTokens) + Number(row.outputTokens));
  });

  it('a compaction the client abandons is charged and recorded as client_aborted (not 500 internal)', async () => {
    const { key, keyId } = await createKey(gw);
    fake.compactWith({ delayMs: 1500 });
    const ac = new AbortController();
    const pending = fetch(`${gw.url}/v1/responses/compact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(compactBody()),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await eventually(() => compactCalls().length === 1, 'the upstream call');
    ac.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await eventually(async () => (await usageRows(keyId)).length === 1, 'the usage row');
    const [row] = await usageRows(keyId);
    expect(row.errorClass).toBe('client_aborted');
    expect(row.status).not.toBe(500);
    expect(Number(row.totalTokens)).toBeGreaterThan(0);
    // The limits are settled with the same charge (not the reservation, not 0).
    const me = await call(gw, 'GET', '/v1/me', { key });
    expect(me.body.usage.tokensToday).toBe(Number(row.totalTokens));
    await new Promise((res) => setTimeout(res, 1600));
  });
});

describe('item 3: max_output_tokens (not enforced upstream) never shrinks a reservation', () => {
  it('40 parallel requests with max_output_tokens: 1 on a 500-token quota spend at most the quota', async () => {
    const { key } = await createKey(gw, { dailyTokenQuota: 500 });
    fake.respondWith({ text: 'x', usage: { input_tokens: 60, output_tokens: 40 } }, 40);
    const all = await Promise.all(
      Array.from({ length: 40 }, () =>
        call(gw, 'POST', '/v1/responses', {
          key,
          body: { model: 'gpt-5.5', input: 'hi', max_output_tokens: 1 },
        }),
      ),
    );
    const ok = all.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(all.filter((r) => r.status !== 200).every((r) => r.status === 429)).toBe(true);
    expect(ok * 100).toBeLessThanOrEqual(500);
    // The cap is not sent upstream (the backend refuses it), which is why it cannot size the reservation.
    expect(fake.requestsTo('/backend-api/codex/responses')[0].body.max_output_tokens).toBeUndefined();
  });
});

describe('item 5: compaction goes through the model check and the parameter table', () => {
  it.each([
    ['NUL', 'gpt-5\u0000x'],
    ['CR/LF', 'gpt-5\r\nx-injected: 1'],
  ])('%s in the model name → 400 param model, nothing upstream, no usage row', async (_n, model) => {
    const { key, keyId } = await createKey(gw);
    const r = await call(gw, 'POST', '/v1/responses/compact', { key, body: compactBody({ model }) });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('model');
    expect(compactCalls()).toHaveLength(0);
    await new Promise((res) => setTimeout(res, 1200));
    expect(await usageRows(keyId)).toHaveLength(0);
    const ok = await call(gw, 'POST', '/v1/responses/compact', { key, body: compactBody() });
    expect(ok.status).toBe(200); // no account was blamed for the name
  });

  it("the client's prompt_cache_key is replaced by the per-user conversation id; stored-state fields never go up", async () => {
    const a = await createKey(gw);
    const b = await createKey(gw);
    const extra = { prompt_cache_key: 'shared', store: true, metadata: { x: '1' }, user: 'u1' };
    for (const k of [a, b]) {
      const r = await call(gw, 'POST', '/v1/responses/compact', { key: k.key, body: compactBody(extra) });
      expect(r.status).toBe(200);
    }
    const [ua, ub] = compactCalls().map((c) => c.body);
    expect(ua.prompt_cache_key).not.toBe('shared');
    expect(ub.prompt_cache_key).not.toBe('shared');
    expect(ua.prompt_cache_key).not.toBe(ub.prompt_cache_key);
    for (const body of [ua, ub]) {
      expect(body.store).toBeUndefined();
      expect(body.metadata).toBeUndefined();
      expect(body.user).toBeUndefined();
      expect(body.instructions).toBe('compact the conversation');
      expect(body.input).toEqual(history);
    }
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_1' }],
    ['background', { background: true }],
  ])('%s is refused with 400 naming it, as on /v1/responses', async (param, extra) => {
    const { key } = await createKey(gw);
    const r = await call(gw, 'POST', '/v1/responses/compact', { key, body: compactBody(extra) });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe(param);
    expect(compactCalls()).toHaveLength(0);
  });
});

describe('item 8: an alias in the allow-list binds its effort', () => {
  it('a key allowed only gpt-5.5-low cannot raise the effort with reasoning.effort in the body', async () => {
    const { key } = await createKey(gw, { allowedModels: ['gpt-5.5-low'] });
    fake.respondWith({ text: 'ok' });
    const r = await call(gw, 'POST', '/v1/responses', {
      key,
      body: { model: 'gpt-5.5-low', input: 'hi', reasoning: { effort: 'xhigh', summary: 'auto' } },
    });
    expect(r.status).toBe(200);
    const [up] = fake.requestsTo('/backend-api/codex/responses');
    expect(up.body.model).toBe('gpt-5.5');
    expect(up.body.reasoning).toEqual({ effort: 'low', summary: 'auto' });
  });
});
