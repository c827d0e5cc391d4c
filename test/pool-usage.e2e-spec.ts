import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey } from './support/auth.js';
import { query } from './support/wait.js';

/**
 * Pool intelligence through the admin API (issue 23 items 1–4): a just-imported account's windows are known from
 * wham/usage within seconds without any inference request, reserve and cap are set with PATCH (range-checked,
 * audited), and the overview carries the windows with their "as of" and the forecast.
 */
describe('pool usage in the admin API', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let admin: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${gw.url}/admin/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
    admin = (await createAdminKey(gw)).key;
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('shows a just-imported account’s headroom within 30 s without any inference request; reserve and cap by PATCH', async () => {
    const acct = fake.addAccount({ email: 'pool@example.com', planType: 'plus' });
    fake.setUsageHeaders(acct.chatgptAccountId, {
      primaryUsedPercent: 23,
      primaryWindowMinutes: 300,
      primaryResetAfterSeconds: 4000,
      secondaryUsedPercent: 61,
      secondaryWindowMinutes: 10_080,
      secondaryResetAfterSeconds: 200_000,
    });
    const imported = await api('POST', '/accounts/import', {
      auth_mode: 'chatgpt',
      tokens: {
        id_token: acct.idToken,
        access_token: acct.accessToken,
        refresh_token: acct.refreshToken,
        account_id: acct.chatgptAccountId,
      },
      last_refresh: new Date().toISOString(),
    });
    expect(imported.status).toBe(200);
    const id = imported.body.account.id as string;
    const t0 = Date.now();
    let view: any = null;
    while (Date.now() - t0 < 30_000) {
      view = (await api('GET', `/accounts/${id}`)).body;
      if (view.usage?.windows?.length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(view.usage).toMatchObject({ plan: 'plus', headroomPercent: 39 });
    const [short, weekly] = view.usage.windows;
    expect(short).toMatchObject({ kind: 'short', usedPercent: 23, windowSeconds: 18_000 });
    expect(weekly).toMatchObject({ kind: 'weekly', usedPercent: 61, windowSeconds: 604_800 });
    expect(Math.abs(Date.parse(short.resetsAt) - (t0 + 4_000_000))).toBeLessThan(10_000);
    expect(Date.parse(short.asOf)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(fake.requestsTo('/backend-api/codex/responses')).toHaveLength(0);
    // The overview has the same windows, with their read time.
    const o = (await api('GET', '/overview')).body;
    const p = o.pool.find((x: any) => x.id === id);
    expect(p.short).toMatchObject({ usedPercent: 23, windowMinutes: 300, asOf: short.asOf });
    expect(p.long).toMatchObject({ usedPercent: 61, windowMinutes: 10_080 });
    expect(o.forecast.map((f: any) => f.kind)).toEqual(['short', 'weekly']);

    // Reserve and cap: range-checked with the field named, audited, shown.
    for (const [body, param] of [
      [{ reservePercent: 91 }, 'reservePercent'],
      [{ reservePercent: -1 }, 'reservePercent'],
      [{ reservePercent: 1.5 }, 'reservePercent'],
      [{ maxConcurrent: 0 }, 'maxConcurrent'],
    ] as const) {
      const bad = await api('PATCH', `/accounts/${id}`, body);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(bad.body.error.message).toContain(param);
    }
    const ok = await api('PATCH', `/accounts/${id}`, { reservePercent: 40, maxConcurrent: 2 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ reservePercent: 40, maxConcurrent: 2 });
    expect(ok.body.usage.headroomPercent).toBe(0); // weekly 61 % ≥ the owner's line at 60 %
    const audit = await query(
      gw,
      `SELECT details FROM audit_logs WHERE action = 'account.updated' AND "targetId" = $1`,
      [id],
    );
    expect(audit.map((r) => r.details)).toContainEqual({ reservePercent: 40, maxConcurrent: 2 });
    expect((await api('PATCH', `/accounts/${id}`, { maxConcurrent: null })).body.maxConcurrent).toBeNull();
  });
});
