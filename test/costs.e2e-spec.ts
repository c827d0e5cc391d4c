import { useFakeGateway } from './support/scenario.js';
import { createAdminKey, createKey, type TestKey } from './support/auth.js';
import { query } from './support/wait.js';

/** Issue 28 item 1: each usage row records its equivalent API cost when written; the admin API sums it. */
describe('equivalent API cost', () => {
  const s = useFakeGateway(1);
  let admin: TestKey;
  beforeAll(async () => {
    admin = await createAdminKey(s.gw);
  });

  const api = (path: string, init: RequestInit = {}, key = admin.key) =>
    fetch(`${s.gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    });
  const rows = () =>
    query<{ model: string; costUsd: string | null; requestId: string }>(
      s.gw,
      'SELECT model, "costUsd"::text AS "costUsd", "requestId" FROM usage_records ORDER BY id',
    );
  const flushed = async () => {
    // The admin usage endpoint flushes the writer before it reads.
    expect((await api('/admin/api/usage')).status).toBe(200);
  };

  it('prices a request at write time (cached tokens at the cached price); an unknown model has no price', async () => {
    // gpt-5.5 in src/pricing/prices.json: 5 / 0.5 / 30 USD per 1M.
    s.fake.respondWith({ text: 'a', usage: { input_tokens: 1000, cached_tokens: 800, output_tokens: 200 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'one' });
    // gpt-5.6-codex is served by the upstream but listed nowhere in the price file.
    s.fake.respondWith({ text: 'b', usage: { input_tokens: 1000, output_tokens: 1000 } });
    await s.client.responses.create({ model: 'gpt-5.6-codex', input: 'two' });
    await flushed();
    const r = await rows();
    expect(r.map((x) => [x.model, x.costUsd])).toEqual([
      ['gpt-5.5', '0.007400000000'], // 200×5 + 800×0.5 + 200×30 = 7400 µ$ per 1M tokens
      ['gpt-5.6-codex', null],
    ]);
  });

  it('an admin override prices new rows only, and is audited', async () => {
    const put = await api('/admin/api/pricing/models/gpt-5.5', {
      method: 'PUT',
      body: JSON.stringify({ input: 10, cached_input: 1, output: 40 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      model: 'gpt-5.5',
      input: 10,
      cached_input: 1,
      output: 40,
      origin: 'override',
    });

    s.fake.respondWith({ text: 'c', usage: { input_tokens: 1000, cached_tokens: 800, output_tokens: 200 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'three' });
    await flushed();
    const r = await rows();
    expect(r[0].costUsd).toBe('0.007400000000'); // history untouched
    expect(r[2]).toMatchObject({ model: 'gpt-5.5', costUsd: '0.010800000000' }); // 200×10 + 800×1 + 200×40

    const audit = await query(s.gw, `SELECT * FROM audit_logs WHERE action = 'pricing.override'`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorType: 'key',
      actorId: admin.keyId,
      targetType: 'model',
      targetId: 'gpt-5.5',
      details: {
        before: { input: 5, cached_input: 0.5, output: 30 },
        after: { input: 10, cached_input: 1, output: 40 },
      },
    });

    const listed = (await (await api('/admin/api/pricing')).json()) as any;
    expect(listed.models.find((m: any) => m.model === 'gpt-5.5')).toMatchObject({
      origin: 'override',
      input: 10,
    });
    expect(listed.models.find((m: any) => m.model === 'gpt-5.6-codex')).toBeUndefined();
  });

  it('the admin usage API sums cost per model, key, user and account; unpriced requests are counted apart', async () => {
    const by = async (g: string) =>
      ((await (await api(`/admin/api/usage?group_by=${g}`)).json()) as any).data;
    expect(await by('model')).toEqual([
      expect.objectContaining({ group: 'gpt-5.5', requests: 2, cost_usd: 0.0182, unpriced_requests: 0 }),
      expect.objectContaining({ group: 'gpt-5.6-codex', requests: 1, cost_usd: 0, unpriced_requests: 1 }),
    ]);
    const [key] = await by('key');
    expect(key).toMatchObject({ requests: 3, cost_usd: 0.0182, unpriced_requests: 1 });
    expect((await by('user'))[0]).toMatchObject({ cost_usd: 0.0182 });
    expect(await by('account')).toEqual([
      expect.objectContaining({ group: s.accts[0].id, cost_usd: 0.0182 }),
    ]);
  });

  it("the CSV export and the latest-requests list carry each row's recorded cost", async () => {
    const csv = await api('/admin/api/usage/export.csv');
    expect(csv.status).toBe(200);
    const [header, ...lines] = (await csv.text()).trim().split('\r\n');
    const cols = header.split(',');
    expect(cols).toContain('costUsd');
    const at = (line: string, col: string) => line.split(',')[cols.indexOf(col)];
    const byModel = lines.map((l) => [at(l, 'model'), at(l, 'costUsd')]).sort();
    expect(byModel).toEqual([
      ['gpt-5.5', '0.007400000000'],
      ['gpt-5.5', '0.010800000000'],
      ['gpt-5.6-codex', ''], // no price: empty, never 0
    ]);
    const list = (await (await api('/admin/api/usage/requests?limit=10')).json()) as any;
    expect(list.data.map((r: any) => r.costUsd).sort()).toEqual(['0.007400000000', '0.010800000000', null]);
  });

  it("/v1/me shows the key's own equivalent spend this month", async () => {
    const me = (await (
      await fetch(`${s.gw.url}/v1/me`, { headers: { authorization: `Bearer ${s.key}` } })
    ).json()) as any;
    expect(me.equivalent_spend).toEqual({
      month: new Date().toISOString().slice(0, 7),
      currency: 'USD',
      cost_usd: 0.0182,
      unpriced_requests: 1,
    });
    const other = await createKey(s.gw);
    const none = (await (
      await fetch(`${s.gw.url}/v1/me`, { headers: { authorization: `Bearer ${other.key}` } })
    ).json()) as any;
    expect(none.equivalent_spend).toMatchObject({ cost_usd: 0, unpriced_requests: 0 });
  });

  it("what the pool saved: this month's equivalent cost vs the subscriptions' price (default by plan, then set)", async () => {
    const before = (await (await api('/admin/api/usage/savings')).json()) as any;
    expect(before).toMatchObject({
      object: 'usage.savings',
      month: new Date().toISOString().slice(0, 7),
      equivalent_cost_usd: 0.0182,
      subscriptions_usd: 200, // the fake's accounts are on 'pro': 200 USD/month in prices.json
      saved_usd: 0.0182 - 200,
      unpriced_requests: 1,
      complete: false,
    });
    expect(before.accounts).toEqual([
      expect.objectContaining({
        id: s.accts[0].id,
        label: 'acct0',
        plan: 'pro',
        monthly_usd: 200,
        monthly_origin: 'plan',
      }),
    ]);

    const set = await api(`/admin/api/pricing/accounts/${s.accts[0].id}`, {
      method: 'PUT',
      body: JSON.stringify({ monthly_usd: 150.5 }),
    });
    expect(set.status).toBe(200);
    const after = (await (await api('/admin/api/usage/savings')).json()) as any;
    expect(after).toMatchObject({ subscriptions_usd: 150.5, saved_usd: 0.0182 - 150.5 });
    expect(after.accounts[0]).toMatchObject({ monthly_usd: 150.5, monthly_origin: 'account' });
    const audit = await query(s.gw, `SELECT * FROM audit_logs WHERE action = 'account.monthly_price'`);
    expect(audit[0]).toMatchObject({ targetId: s.accts[0].id, details: { before: null, after: 150.5 } });

    const last = (await (await api('/admin/api/usage/savings?month=2020-01')).json()) as any;
    expect(last).toMatchObject({
      month: '2020-01',
      equivalent_cost_usd: 0,
      from: '2020-01-01T00:00:00.000Z',
    });
  });

  it('removing an override goes back to the shipped price for new rows', async () => {
    expect((await api('/admin/api/pricing/models/gpt-5.5', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/admin/api/pricing/models/gpt-5.5', { method: 'DELETE' })).status).toBe(404);
    s.fake.respondWith({ text: 'd', usage: { input_tokens: 1000, cached_tokens: 800, output_tokens: 200 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'four' });
    await flushed();
    expect((await rows())[3].costUsd).toBe('0.007400000000');
  });

  it.each([
    ['negative price', '/admin/api/pricing/models/gpt-5.5', { input: -1, cached_input: 0, output: 1 }, 400],
    [
      '> 6 decimals',
      '/admin/api/pricing/models/gpt-5.5',
      { input: 0.0000001, cached_input: 0, output: 1 },
      400,
    ],
    [
      'cached above input',
      '/admin/api/pricing/models/gpt-5.5',
      { input: 1, cached_input: 2, output: 1 },
      400,
    ],
    [
      'unknown field',
      '/admin/api/pricing/models/gpt-5.5',
      { input: 1, cached_input: 0, output: 1, x: 1 },
      400,
    ],
    ['missing field', '/admin/api/pricing/models/gpt-5.5', { input: 1 }, 400],
    ['bad model name', '/admin/api/pricing/models/a%20b', { input: 1, cached_input: 0, output: 1 }, 400],
    ['account not a uuid', '/admin/api/pricing/accounts/nope', { monthly_usd: 1 }, 400],
    [
      'unknown account',
      '/admin/api/pricing/accounts/00000000-0000-4000-8000-000000000000',
      { monthly_usd: 1 },
      404,
    ],
    [
      'account price not a number',
      `/admin/api/pricing/accounts/00000000-0000-4000-8000-000000000000`,
      { monthly_usd: 'x' },
      400,
    ],
  ])('bad input (%s) → OpenAI-style error, nothing changed', async (_what, path, body, status) => {
    const res = await api(path, { method: 'PUT', body: JSON.stringify(body) });
    expect(res.status).toBe(status);
    const e = (await res.json()) as any;
    expect(e.error).toEqual(
      expect.objectContaining({ message: expect.any(String), type: 'invalid_request_error' }),
    );
    expect(await query(s.gw, `SELECT 1 FROM model_prices`)).toHaveLength(0);
  });

  it('members cannot read or change prices', async () => {
    const member = await createKey(s.gw);
    expect((await api('/admin/api/pricing', {}, member.key)).status).toBe(403);
    const put = await api(
      '/admin/api/pricing/models/gpt-5.5',
      { method: 'PUT', body: JSON.stringify({ input: 0, cached_input: 0, output: 0 }) },
      member.key,
    );
    expect(put.status).toBe(403);
    expect((await api('/admin/api/usage/savings', {}, member.key)).status).toBe(403);
    expect((await api('/admin/api/usage/savings?month=2020-13')).status).toBe(400);
  });
});
