import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { call, dbQuery as q, signIn } from './support/http.js';
import { createKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { TEST_REDIS_URL } from './support/redis.js';

/** A recorded request of `userId` through `keyId`, `daysAgo` UTC days back (noon, so no day edge is crossed). */
async function record(
  gw: TestGateway,
  r: { userId: string; keyId: string; model: string; tokens: number; daysAgo?: number; status?: number },
) {
  const d = new Date();
  const at = new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - (r.daysAgo ?? 0), 0, 0, 1),
  );
  await q(
    gw,
    `INSERT INTO usage_records ("createdAt", "requestId", "keyId", "userId", model, endpoint, stream, status, "totalTokens", "durationMs")
     VALUES ($1, $2, $3, $4, $5, '/v1/responses', false, $6, $7, 10)`,
    [at, randomUUID(), r.keyId, r.userId, r.model, r.status ?? 200, r.tokens],
  );
}

describe("a member's own corner: GET /admin/api/me/usage, scoped on the server", () => {
  let gw: TestGateway;
  let ann: Awaited<ReturnType<typeof signIn>>;
  let ben: Awaited<ReturnType<typeof signIn>>;
  let admin: Awaited<ReturnType<typeof signIn>>;
  let annKeys: string[];
  const get = (who: { cookie: string }, query = '') =>
    call(gw, 'GET', `/admin/api/me/usage${query}`, { cookie: who.cookie });

  beforeAll(async () => {
    gw = await startGateway();
    [ann, ben, admin] = [await signIn(gw), await signIn(gw), await signIn(gw, { role: 'admin' })];
    annKeys = [
      (await createKey(gw, { userId: ann.userId, name: 'laptop', dailyTokenQuota: 1000 })).keyId,
      (await createKey(gw, { userId: ann.userId, name: 'ci' })).keyId,
    ];
    const benKey = (await createKey(gw, { userId: ben.userId, name: 'ben-key' })).keyId;
    await record(gw, { userId: ann.userId, keyId: annKeys[0], model: 'gpt-5', tokens: 100 });
    await record(gw, { userId: ann.userId, keyId: annKeys[0], model: 'gpt-5-mini', tokens: 30, status: 429 });
    await record(gw, { userId: ann.userId, keyId: annKeys[1], model: 'gpt-5', tokens: 50, daysAgo: 2 });
    await record(gw, { userId: ann.userId, keyId: annKeys[1], model: 'gpt-5', tokens: 999, daysAgo: 40 });
    await record(gw, { userId: ben.userId, keyId: benKey, model: 'gpt-5', tokens: 7000 });
    await q(gw, `UPDATE users SET "dailyTokenQuota" = 500, "monthlyTokenQuota" = 10000 WHERE id = $1`, [
      ann.userId,
    ]);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("a member sees their own usage by day, model and key (30 days), nobody else's", async () => {
    const r = await get(ann);
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ id: ann.userId, email: ann.email });
    expect(r.body.totals).toEqual({ requests: 3, errors: 1, tokens: 180 });
    expect(r.body.byModel).toEqual([
      { model: 'gpt-5', requests: 2, errors: 0, tokens: 150 },
      { model: 'gpt-5-mini', requests: 1, errors: 1, tokens: 30 },
    ]);
    expect(r.body.byKey.map((k: any) => [k.name, k.tokens])).toEqual([
      ['laptop', 130],
      ['ci', 50],
    ]);
    expect(r.body.byDay.map((d: any) => d.tokens)).toEqual([50, 130]);
    expect(r.body.keys.map((k: any) => k.name).sort()).toEqual(['ci', 'laptop']);
    expect(JSON.stringify(r.body)).not.toContain(ben.userId);
    expect(JSON.stringify(r.body)).not.toContain('7000');
  });

  it('limits and what is left today and this month (from the counters the gateway enforces)', async () => {
    const r0 = await get(ann);
    expect(r0.body.limits).toMatchObject({ dailyTokenQuota: 500, monthlyTokenQuota: 10000 });
    expect(r0.body.today).toEqual({ quota: 500, usedTokens: 130, leftTokens: 500 });
    const day = new Date().toISOString().slice(0, 10);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await redis.set(`${gw.config.REDIS_KEY_PREFIX}quota:user:day:${day}:${ann.userId}`, '420');
      await redis.set(`${gw.config.REDIS_KEY_PREFIX}quota:day:${day}:${annKeys[0]}`, '130');
    } finally {
      redis.disconnect();
    }
    const r = await get(ann);
    expect(r.body.today.leftTokens).toBe(80);
    const laptop = r.body.keys.find((k: any) => k.name === 'laptop');
    expect(laptop).toMatchObject({ leftToday: 870, limits: { dailyTokenQuota: 1000 } });
    expect(laptop.usage.tokensToday).toBe(130);
    expect(r.body.keys.find((k: any) => k.name === 'ci').leftToday).toBeNull();
  });

  it("a member asking for another user's usage gets 403, whatever the id", async () => {
    for (const id of [ben.userId, admin.userId, randomUUID()]) {
      const r = await get(ann, `?userId=${id}`);
      expect([r.status, r.body.error.code]).toEqual([403, 'not_your_usage']);
    }
    expect((await get(ann, `?userId=${ann.userId}`)).status).toBe(200);
    expect((await get(ann, '?userId=not-a-uuid')).status).toBe(400);
    expect((await get(ann, '?days=1000')).status).toBe(400);
    expect((await call(gw, 'GET', '/admin/api/me/usage')).status).toBe(401);
  });

  it("an admin opens anyone's corner; an unknown user is 404", async () => {
    const r = await get(admin, `?userId=${ben.userId}`);
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(ben.userId);
    expect(r.body.totals.tokens).toBe(7000);
    expect((await get(admin, `?userId=${randomUUID()}`)).status).toBe(404);
    const own = await get(admin);
    expect(own.body.totals.tokens).toBe(0);
  });

  it('days widens the window (UTC days)', async () => {
    const r = await get(ann, '?days=60');
    expect(r.body.totals.tokens).toBe(180 + 999);
  });
});
