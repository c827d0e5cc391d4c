import { FakeUpstream } from '../fake-upstream/index.ts';
import { seedAccount } from '../support/accounts.js';
import { startServices, type Services } from '../support/medium.js';
import { TokenRefreshService } from '../../src/accounts/token-refresh.service.js';

/**
 * Token refresh on real Redis/Postgres and the fake issuer, two processes sharing one database and Redis prefix
 * (each with its own single flight): the "is it due" rule the caller that waited on the lock applies.
 */
describe('refresh (medium: TokenRefreshService in two processes)', () => {
  let fake: FakeUpstream;
  let a: Services;
  let b: Services;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    const env = { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl };
    a = await startServices(env);
    // The second process: same database and Redis prefix (startServices' own fresh ones stay unused).
    b = await startServices({ ...env, DATABASE_URL: a.db.url, REDIS_KEY_PREFIX: a.config.REDIS_KEY_PREFIX });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });

  it('a caller that waited on the lock uses the winner’s short-lived token instead of refreshing it again', async () => {
    // A 60 s token against the default 300 s lead: due at once when seen, but the token the winner gets is due
    // only at half its life (30 s), for the caller that waited as much as for the worker's schedule.
    expect(a.config.REFRESH_LEAD_SECONDS).toBe(300);
    const acct = fake.addAccount({ accessTtlSeconds: 60 });
    const id = await seedAccount(a, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
    // The winner's call to the issuer takes 500 ms: long enough for the other process to find the lock taken.
    fake.tokenFault({ kind: 'delay', ms: 500 }, 1, acct.chatgptAccountId);
    const winner = a.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    const deadline = Date.now() + 10_000;
    while (fake.refreshCount(acct.chatgptAccountId) === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1); // the winner is inside its refresh, lock held
    const waiter = b.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    const [won, waited] = await Promise.all([winner, waiter]);

    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
    expect(fake.refreshOutcomes(acct.chatgptAccountId)).toEqual({ ok: 1 });
    expect(won.tokens.access_token).not.toBe(acct.accessToken);
    expect(waited.tokens.access_token).toBe(won.tokens.access_token);
    expect(waited.tokens.refresh_token).toBe(fake.currentRefreshToken(acct.chatgptAccountId));
    // And nobody asking again right after (either process) refreshes it.
    await a.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    await b.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
  });
});
