import { useFakeGateway } from './support/scenario.js';
import { createAdminKey, createKey, createUser, type TestKey } from './support/auth.js';
import { call, isEnvelope } from './support/http.js';
import { query } from './support/wait.js';

/**
 * Issue 28 item 2: monthly budgets in equivalent USD per key and per user, set through the admin API, enforced by
 * the same atomic Redis admission as the token quotas (reserve the estimate, settle the real cost), 429
 * budget_exceeded with Retry-After to the month's end, shown in /v1/me. Real gateway, Redis, Postgres; fake
 * upstream over HTTP.
 *
 * Prices: gpt-5.5 is overridden to 0 / 0 / 1000 USD per 1M tokens, so a request reserves exactly its output
 * estimate (512 tokens = 0.512 USD) whatever its input, and the fake's 500 output tokens settle at 0.5 USD.
 */
describe('budgets in money', () => {
  const s = useFakeGateway(1);
  let admin: TestKey;
  const MODEL = 'gpt-5.5';
  const ask = (key: string, model = MODEL) =>
    call(s.gw, 'POST', '/v1/responses', { key, body: { model, input: 'hi' } });
  const monthEndSeconds = () => {
    const d = new Date();
    return (Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - Date.now()) / 1000;
  };

  beforeAll(async () => {
    admin = await createAdminKey(s.gw);
    const put = await call(s.gw, 'PUT', `/admin/api/pricing/models/${MODEL}`, {
      key: admin.key,
      body: { input: 0, cached_input: 0, output: 1000 },
    });
    expect(put.status).toBe(200);
  }, 60_000);

  it('bad budgets are a 400 naming the field, on keys (POST, PATCH) and users (POST, PATCH)', async () => {
    const user = await createUser(s.gw);
    const key = await createKey(s.gw, { userId: user.id });
    const bad: unknown[] = [-1, 0, 0.0000001, 2_000_000, 'ten', true];
    for (const v of bad) {
      const rs = await Promise.all([
        call(s.gw, 'POST', '/admin/api/keys', {
          key: admin.key,
          body: { userId: user.id, monthlyBudgetUsd: v },
        }),
        call(s.gw, 'PATCH', `/admin/api/keys/${key.keyId}`, {
          key: admin.key,
          body: { monthlyBudgetUsd: v },
        }),
        call(s.gw, 'POST', '/admin/api/users', {
          key: admin.key,
          body: { email: `b-${Math.random()}@example.test`, monthlyBudgetUsd: v },
        }),
        call(s.gw, 'PATCH', `/admin/api/users/${user.id}`, { key: admin.key, body: { monthlyBudgetUsd: v } }),
      ]);
      for (const r of rs) {
        expect([v, r.status]).toEqual([v, 400]);
        expect(isEnvelope(r.body)).toBe(true);
        expect(r.body.error.param).toBe('monthlyBudgetUsd');
      }
    }
  });

  it('20 parallel requests at the edge of a key budget: exactly the 4 that fit are admitted', async () => {
    const user = await createUser(s.gw);
    // 2.048 USD = exactly 4 reservations of 0.512 USD: the edge is inclusive, a fifth never fits.
    const created = await call(s.gw, 'POST', '/admin/api/keys', {
      key: admin.key,
      body: { userId: user.id, name: 'budgeted', monthlyBudgetUsd: 2.048 },
    });
    expect(created.status).toBe(201);
    expect(created.body.limits.monthlyBudgetUsd).toBe(2.048);
    const key = created.body.key as string;
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 1500, output_tokens: 500 } }, 20);
    const results = await Promise.all(Array.from({ length: 20 }, () => ask(key)));
    const admitted = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 429);
    const me = (await call(s.gw, 'GET', '/v1/me', { key })).body;
    console.log(
      `parallel key budget 2.048 USD (0.512 reserved, 0.5 spent each): admitted ${admitted}/20, spent ${me.budget.key.spentUsd}`,
    );
    expect(admitted).toBe(4);
    expect(refused.length).toBe(16);
    for (const r of refused) {
      expect(r.body.error.code).toBe('budget_exceeded');
      expect(r.body.error.type).toBe('insufficient_quota');
      const retry = Number(r.headers.get('retry-after'));
      expect(Math.abs(retry - monthEndSeconds())).toBeLessThan(10);
    }
    expect(me.limits.monthlyBudgetUsd).toBe(2.048);
    expect(me.budget.key).toMatchObject({ budgetUsd: 2.048, spentUsd: 2, remainingUsd: 0.048 });
    expect(me.usage.spentThisMonthUsd).toBe(2);
    // 0.048 USD left < one reservation: still refused afterwards, sequentially.
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 10, output_tokens: 10 } });
    expect((await ask(key)).status).toBe(429);
    // Raising the budget takes effect at once (key cache invalidated), and is audited with the amount.
    const patched = await call(s.gw, 'PATCH', `/admin/api/keys/${created.body.id}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 2.6 },
    });
    expect(patched.status).toBe(200);
    expect((await ask(key)).status).toBe(200);
    const audit = await query(
      s.gw,
      `SELECT action, details FROM audit_logs WHERE "targetId" = $1 ORDER BY id`,
      [created.body.id],
    );
    expect(audit.map((a) => [a.action, a.details.monthlyBudgetUsd])).toEqual([
      ['key.create', 2.048],
      ['key.update', 2.6],
    ]);
  }, 60_000);

  it("a user's budget binds all of the user's keys together, atomically", async () => {
    const user = await createUser(s.gw);
    const patched = await call(s.gw, 'PATCH', `/admin/api/users/${user.id}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 1.024 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.limits.monthlyBudgetUsd).toBe(1.024);
    const k1 = await createKey(s.gw, { userId: user.id });
    const k2 = await createKey(s.gw, { userId: user.id });
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 1500, output_tokens: 500 } }, 20);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(i % 2 ? k1.key : k2.key)));
    const admitted = results.filter((r) => r.status === 200).length;
    console.log(`parallel user budget 1.024 USD over 2 keys: admitted ${admitted}/20`);
    expect(admitted).toBe(2);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.body.error.code).toBe('budget_exceeded');
    expect(refused.body.error.message).toContain("this key's user");
    const me = (await call(s.gw, 'GET', '/v1/me', { key: k1.key })).body;
    expect(me.budget.user).toMatchObject({ budgetUsd: 1.024, spentUsd: 1, remainingUsd: 0.024 });
    expect(me.budget.key.budgetUsd).toBeNull();
    // The users page reads the same counters.
    const listed = await call(s.gw, 'GET', '/admin/api/usage/budgets', { key: admin.key });
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ userId: user.id, budgetUsd: 1.024, spentUsd: 1, remainingUsd: 0.024 }),
    );
    const member = await call(s.gw, 'GET', '/admin/api/usage/budgets', { key: k1.key });
    expect(member.status).toBe(403);
  }, 60_000);

  it('a budget is strict: a request whose reservation does not fit is refused, the first of the month too', async () => {
    const k = await createKey(s.gw);
    await call(s.gw, 'PATCH', `/admin/api/keys/${k.keyId}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 0.5 },
    });
    const r = await ask(k.key);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('budget_exceeded');
    expect((await call(s.gw, 'GET', '/v1/me', { key: k.key })).body.budget.key.spentUsd).toBe(0);
  });

  it('with a budget, a model without a price is refused (403 model_not_priced); without one it is served', async () => {
    const budgeted = await createKey(s.gw);
    await call(s.gw, 'PATCH', `/admin/api/keys/${budgeted.keyId}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 5 },
    });
    const before = s.fake.requestsTo('/backend-api/codex/responses').length;
    const r = await ask(budgeted.key, 'gpt-5.6-codex');
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('model_not_priced');
    expect(s.fake.requestsTo('/backend-api/codex/responses').length).toBe(before);
    const free = await createKey(s.gw);
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 10, output_tokens: 10 } });
    expect((await ask(free.key, 'gpt-5.6-codex')).status).toBe(200);
  });
});
