import { useFakeGateway } from './support/scenario.js';
import { createAdminKey, createKey, createUser, type TestKey } from './support/auth.js';
import { call, isEnvelope } from './support/http.js';
import { eventually, query } from './support/wait.js';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TEST_REDIS_URL } from './support/redis.js';
import { LimitsService } from '../src/limits/limits.service.js';
import { SpendSeeder } from '../src/limits/spend-seed.js';
import { PricingService } from '../src/pricing/pricing.service.js';
import type { PricingRepository } from '../src/pricing/pricing.repository.js';
import { PrismaService } from '../src/prisma/prisma.service.js';
import { RedisService } from '../src/redis/redis.service.js';
import type { AppConfig } from '../src/config/config.schema.js';
import type { RequestAuth } from '../src/common/auth-context.js';
import { ApiError } from '../src/common/errors.js';

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
  /** Usage rows written before this version ran (or before the budget was set): `usd` each, this month. */
  const pastRows = async (keyId: string, userId: string, usd: number[], when = 'now()') => {
    for (const [i, c] of usd.entries())
      await query(
        s.gw,
        `INSERT INTO usage_records ("requestId", "keyId", "userId", model, endpoint, stream, status, "durationMs",
           "outputTokens", "costUsd", "createdAt")
         VALUES ($1, $2::uuid, $3::uuid, 'gpt-5.5', 'responses', false, 200, 10, 1, $4, ${when})`,
        [`past-${keyId}-${i}-${when.length}`, keyId, userId, c],
      );
  };
  /** Loses the month's money counters of a key or a user (a Redis loss, an eviction). */
  const dropCounters = async (id: string) => {
    const r = new Redis(TEST_REDIS_URL);
    try {
      const keys = await r.keys(`${s.gw.config.REDIS_KEY_PREFIX}*quota*usd*${id}`);
      expect(keys.length).toBeGreaterThan(0);
      await r.del(...keys);
    } finally {
      r.disconnect();
    }
  };
  const rowsOf = async (keyId: string) =>
    (await query(s.gw, `SELECT count(*)::int AS n FROM usage_records WHERE "keyId" = $1::uuid`, [keyId]))[0]
      .n;

  it("a key's month spend is the real one: seeded from this month's usage rows, also after a Redis loss", async () => {
    const k = await createKey(s.gw);
    // 0.9 USD this month before the budget existed (and before this version counted), 5 USD last month.
    await pastRows(k.keyId, k.userId, [0.7, 0.2]);
    await pastRows(k.keyId, k.userId, [5], `date_trunc('month', now()) - interval '1 day'`);
    await call(s.gw, 'PATCH', `/admin/api/keys/${k.keyId}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 2 },
    });
    let me = (await call(s.gw, 'GET', '/v1/me', { key: k.key })).body;
    expect(me.budget.key).toMatchObject({ budgetUsd: 2, spentUsd: 0.9, remainingUsd: 1.1 });
    expect(me.usage.spentThisMonthUsd).toBe(0.9);
    // 1.1 USD left = exactly 2 reservations of 0.512: of 10 parallel requests, 2 are admitted.
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 100, output_tokens: 500 } }, 10);
    const results = await Promise.all(Array.from({ length: 10 }, () => ask(k.key)));
    expect(results.filter((r) => r.status === 200).length).toBe(2);
    me = (await call(s.gw, 'GET', '/v1/me', { key: k.key })).body;
    expect(me.budget.key).toMatchObject({ spentUsd: 1.9, remainingUsd: 0.1 });
    // The counter is lost (Redis flushed/evicted): the next look re-reads the rows, once, atomically.
    await eventually(async () => (await rowsOf(k.keyId)) === 3 + 10, 'the usage rows');
    await dropCounters(k.keyId);
    const looks = await Promise.all(
      Array.from({ length: 5 }, () => call(s.gw, 'GET', '/v1/me', { key: k.key })),
    );
    for (const l of looks) expect(l.body.budget.key).toMatchObject({ spentUsd: 1.9, remainingUsd: 0.1 });
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 10, output_tokens: 10 } });
    expect((await ask(k.key)).status).toBe(429);
    // Lost again, and the next thing to touch it is a request (not a read): still seeded before admission.
    await dropCounters(k.keyId);
    expect((await ask(k.key)).status).toBe(429);
    expect((await call(s.gw, 'GET', '/v1/me', { key: k.key })).body.budget.key.spentUsd).toBe(1.9);
  }, 60_000);

  it("a user's budget set mid-month starts from what the user's keys already spent this month", async () => {
    const user = await createUser(s.gw);
    const a = await createKey(s.gw, { userId: user.id });
    const b = await createKey(s.gw, { userId: user.id });
    await pastRows(a.keyId, user.id, [0.3]);
    await pastRows(b.keyId, user.id, [0.4]);
    const patched = await call(s.gw, 'PATCH', `/admin/api/users/${user.id}`, {
      key: admin.key,
      body: { monthlyBudgetUsd: 1 },
    });
    expect(patched.status).toBe(200);
    const listed = (await call(s.gw, 'GET', '/admin/api/usage/budgets', { key: admin.key })).body.data;
    expect(listed.find((u: any) => u.userId === user.id)).toMatchObject({ spentUsd: 0.7, remainingUsd: 0.3 });
    const me = (await call(s.gw, 'GET', '/v1/me', { key: a.key })).body;
    expect(me.budget.user).toMatchObject({ budgetUsd: 1, spentUsd: 0.7, remainingUsd: 0.3 });
    // 0.3 USD left < one reservation (0.512): refused, on either key.
    const r = await ask(b.key);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('budget_exceeded');
    await dropCounters(user.id);
    expect((await ask(a.key)).status).toBe(429);
  }, 60_000);

  it('under an alias, the usage row and the budget price the same (upstream) model', async () => {
    const k = await createKey(s.gw);
    s.fake.respondWith({ text: 'x', usage: { input_tokens: 100, output_tokens: 500 } });
    const r = await ask(k.key, 'gpt-5.5-low');
    expect(r.status).toBe(200);
    expect(s.fake.requestsTo('/backend-api/codex/responses').at(-1)?.body?.model).toBe('gpt-5.5');
    const me = (await call(s.gw, 'GET', '/v1/me', { key: k.key })).body;
    expect(me.usage.spentThisMonthUsd).toBe(0.5);
    await eventually(async () => (await rowsOf(k.keyId)) === 1, 'the usage row');
    const [row] = await query(
      s.gw,
      `SELECT model, "costUsd"::text AS cost FROM usage_records WHERE "keyId" = $1`,
      [k.keyId],
    );
    // The client's name stays for display; the cost is the served model's (0.5 USD), as the budget counted it.
    expect(row.model).toBe('gpt-5.5-low');
    expect(Number(row.cost)).toBe(0.5);
    expect(me.equivalent_spend).toMatchObject({ cost_usd: 0.5, unpriced_requests: 0 });
  });

  it('Postgres unreadable while a counter is missing: a budget fails closed (503), no budget is served uncounted', async () => {
    // The gateway's own Redis (same prefix); a Postgres nothing listens on; the shipped prices (gpt-5.5 priced).
    const redis = new RedisService(s.gw.config);
    const prisma = new PrismaService({ DATABASE_URL: 'postgresql://cg:cg@127.0.0.1:1/none' } as AppConfig);
    const limits = new LimitsService(
      redis,
      new PricingService(null as unknown as PricingRepository),
      new SpendSeeder(prisma, redis),
    );
    const auth = (budget: number | null): RequestAuth => ({
      kind: 'key',
      userId: randomUUID(),
      email: 'x@example.test',
      role: 'member',
      keyId: randomUUID(),
      scope: 'api',
      allowedModels: [],
      limits: { monthlyBudgetUsd: budget } as RequestAuth['limits'],
    });
    const priced = { model: MODEL, inputTokens: 100, outputTokens: 512 };
    try {
      const budgeted = auth(5);
      const err = await limits.admit(budgeted, 612, priced).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).getStatus()).toBe(503);
      const free = auth(null);
      const admission = await limits.admit(free, 612, priced);
      await admission.settle(600, { input: 100, cached: 0, output: 500 });
      const r = new Redis(TEST_REDIS_URL);
      try {
        const left = await r.keys(`${s.gw.config.REDIS_KEY_PREFIX}*quota*usd*${free.keyId}`);
        expect(left).toEqual([]); // not counted from 0: its usage row seeds it once Postgres answers
      } finally {
        r.disconnect();
      }
    } finally {
      await redis.onModuleDestroy();
      await prisma.$disconnect().catch(() => {});
    }
  });
});
