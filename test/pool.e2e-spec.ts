import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { gatewayWithAccounts } from './support/scenario.js';

/** The account pool through the real request path: failover at usage limits, cooldowns, stickiness. */
let fake: FakeUpstream;
beforeAll(async () => {
  fake = await FakeUpstream.start();
});
afterAll(() => fake.close());

const setup = (accounts: number, env: Record<string, string> = {}) =>
  gatewayWithAccounts(fake, accounts, env);
const responsesCalls = () => fake.requestsTo('/backend-api/codex/responses');

describe('pool: failover and stickiness', () => {
  it('moves to account B when A hits its usage limit, skips A until the reset, then uses A again', async () => {
    const ctx = await setup(2, { POOL_STRATEGY: 'priority' });
    try {
      const [a, b] = ctx.accts;
      // make A the preferred account
      const pg = await import('pg');
      const c = new pg.default.Client({ connectionString: ctx.gw.db.url });
      await c.connect();
      await c.query('UPDATE accounts SET priority = 10 WHERE id = $1', [a.id]);
      await c.end();
      await ctx.gw.app
        .get((await import('../src/accounts/accounts.service.js')).AccountsService)
        .markAllChanged();
      fake.reset();
      fake.fault(a.fake.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 2 });
      const r = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'first' });
      expect(r.output_text).toContain('first');
      const calls = responsesCalls().map((x) => x.chatgptAccountId);
      expect(calls).toEqual([a.fake.chatgptAccountId, b.fake.chatgptAccountId]);
      fake.reset();
      await ctx.client.responses.create({ model: 'gpt-5.5', input: 'second' });
      expect(responsesCalls().map((x) => x.chatgptAccountId)).toEqual([b.fake.chatgptAccountId]);
      // Back once the window reset: 2 s after its reset time (usage-state.ts RESET_GRACE_MS), and that time is in
      // whole seconds, up to 1 s later than now + 2 s: at most 5 s from the fault (4.3 s was short by that second).
      await new Promise((res) => setTimeout(res, 5500));
      fake.reset();
      await ctx.client.responses.create({ model: 'gpt-5.5', input: 'third' });
      expect(responsesCalls().map((x) => x.chatgptAccountId)).toEqual([a.fake.chatgptAccountId]);
    } finally {
      await ctx.gw.close();
    }
  });

  it('answers 429 with Retry-After when every account is cooling down', async () => {
    const ctx = await setup(1);
    try {
      fake.fault(ctx.accts[0].fake.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 90 });
      const e1 = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'x' }).catch((x) => x);
      expect(e1).toBeInstanceOf(OpenAI.RateLimitError);
      const e2 = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'x' }).catch((x) => x);
      expect(e2).toBeInstanceOf(OpenAI.RateLimitError);
      const retryAfter = Number(e2.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(60);
      expect(retryAfter).toBeLessThanOrEqual(90);
      expect(e2.code).toBe('usage_limit_reached');
    } finally {
      await ctx.gw.close();
    }
  });

  it('keeps a prompt_cache_key on one account and spreads different keys', async () => {
    const ctx = await setup(3, { POOL_STRATEGY: 'round-robin' });
    try {
      fake.reset();
      for (let i = 0; i < 10; i++)
        await ctx.client.responses.create({ model: 'gpt-5.5', input: 'x', prompt_cache_key: 'conv-A' });
      expect(new Set(responsesCalls().map((x) => x.chatgptAccountId)).size).toBe(1);
      fake.reset();
      for (let i = 0; i < 6; i++)
        await ctx.client.responses.create({ model: 'gpt-5.5', input: 'x', prompt_cache_key: `conv-${i}` });
      expect(new Set(responsesCalls().map((x) => x.chatgptAccountId)).size).toBeGreaterThan(1);
    } finally {
      await ctx.gw.close();
    }
  });
});
