import { randomUUID } from 'node:crypto';
import type { RequestAuth } from '../../src/common/auth-context.js';
import { ApiError } from '../../src/common/errors.js';
import { LimitsService } from '../../src/limits/limits.service.js';
import { startServices, type Services } from '../support/medium.js';

/** Limits on real Redis without HTTP: a reservation is taken at admission and settled to the real usage. */
describe('limits (medium: LimitsService on real Redis)', () => {
  let s: Services;
  let limits: LimitsService;
  const auth = (limits: Partial<RequestAuth['limits']>): RequestAuth => ({
    kind: 'key',
    userId: randomUUID(),
    email: 'medium@example.com',
    role: 'member',
    keyId: randomUUID(),
    scope: 'api',
    allowedModels: [],
    limits: { rpm: null, tpm: null, dailyTokenQuota: null, monthlyTokenQuota: null, ...limits },
  });

  beforeAll(async () => {
    s = await startServices();
    limits = s.get(LimitsService);
  });
  afterAll(() => s?.close());

  it('settles the day and month counters to the real token count, whatever was reserved', async () => {
    const a = auth({ dailyTokenQuota: 10_000, monthlyTokenQuota: 100_000 });
    const adm = await limits.admit(a, 500);
    await adm.settle(120);
    await adm.settle(9_999); // a second settle is ignored
    const u = await limits.usage(a.keyId!);
    expect(u.tokensToday).toBe(120);
    expect(u.tokensThisMonth).toBe(120);
  });

  it('refuses with 429 insufficient_quota once the daily quota is used, with Retry-After to the period end', async () => {
    const a = auth({ dailyTokenQuota: 1_000 });
    const adm = await limits.admit(a, 10);
    await adm.settle(1_000);
    const err = await limits.admit(a, 10).then(
      () => null,
      (e: unknown) => e as ApiError,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err!.httpStatus).toBe(429);
    expect(err!.code).toBe('insufficient_quota');
    const retry = Number(err!.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(86_400);
  });

  it('counts requests against RPM and refuses the one over the limit', async () => {
    const a = auth({ rpm: 3 });
    for (let i = 0; i < 3; i++) await (await limits.admit(a, 1)).settle(1);
    const err = await limits.admit(a, 1).then(
      () => null,
      (e: unknown) => e as ApiError,
    );
    expect(err!.httpStatus).toBe(429);
    expect((await limits.usage(a.keyId!)).requestsThisMinute).toBe(3);
  });

  it('a key without limits is never refused but its tokens still count for /v1/me', async () => {
    const a = auth({});
    for (let i = 0; i < 5; i++) await (await limits.admit(a, 50)).settle(70);
    const u = await limits.usage(a.keyId!);
    expect(u.tokensToday).toBe(350);
    expect(u.tokensThisMonth).toBe(350);
  });
});
