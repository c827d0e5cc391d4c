import { createAdminKey, createKey, createUser, type TestKey } from './support/auth.js';
import { call } from './support/http.js';
import { useFakeGateway } from './support/scenario.js';
import { eventually, query } from './support/wait.js';
import { connectWs } from './support/ws.js';

/**
 * Policy isolation (issue 25 item 4): a content-policy refusal reaches the client as it is and never costs the
 * account anything (no cooldown, no circuit, no stored status, no other account shown the prompt); the key's and
 * the user's refusals are counted, and past POLICY_SUSPEND_THRESHOLD in the window the key is suspended (403
 * key_suspended_policy, audited, counted) while the same accounts keep serving every other key; an admin lifts it.
 */
const s = useFakeGateway(2, {
  POOL_STRATEGY: 'round-robin',
  POLICY_SUSPEND_THRESHOLD: '3',
  POLICY_SUSPEND_WINDOW_SECONDS: '600',
});
let admin: string;
beforeAll(async () => {
  admin = (await createAdminKey(s.gw)).key;
});

const ask = (key: string, input = `hello ${Math.random()}`) =>
  call(s.gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input } });

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${s.gw.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{'))
      sum += Number(line.split(' ').pop());
  return sum;
}

/** Every account as the admin API shows it: stored status, cooldown, cause (circuit included). */
async function accountsUntouched(): Promise<void> {
  const r = await call(s.gw, 'GET', '/admin/api/accounts', { key: admin });
  expect(r.status).toBe(200);
  for (const a of r.body.data) {
    expect(a.status).toBe('active');
    expect(a.cooldownUntil).toBeNull();
    expect(a.health.cause).toBe('active'); // not 'transient': no open circuit
  }
  expect((await query<{ status: string }>(s.gw, 'SELECT status FROM accounts')).map((x) => x.status)).toEqual(
    ['active', 'active'],
  );
  expect(await metric('cg_account_circuit_open')).toBe(0);
}

const suspended = async (k: TestKey) =>
  (
    await query<{ suspendedAt: Date | null }>(s.gw, 'SELECT "suspendedAt" FROM api_keys WHERE id = $1', [
      k.keyId,
    ])
  )[0]?.suspendedAt ?? null;

describe('a content-policy refusal', () => {
  it('reaches the client as it is, on one account only, and leaves the accounts alone', async () => {
    const k = await createKey(s.gw);
    const before = await metric('cg_policy_refusals_total');
    s.fake.faultNext({ kind: 'policy_refusal' }, 4);
    const r = await ask(k.key);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'cyber_policy' });
    expect(r.body.error.message).toMatch(/content-policy grounds: .*usage policy/);
    // Not failed over: no other account was shown the prompt.
    expect(s.fake.requestsTo('/backend-api/codex/responses')).toHaveLength(1);
    await accountsUntouched();
    await eventually(
      async () => (await metric('cg_policy_refusals_total')) === before + 1,
      'the refusal counted',
    );
    expect(await suspended(k)).toBeNull(); // one refusal is below the threshold
  });

  it("as a 403 (status assumed) is still the request's, never a cooldown or another account", async () => {
    const k = await createKey(s.gw);
    s.fake.faultNext({ kind: 'policy_refusal', status: 403, code: 'content_policy_violation' }, 4);
    const r = await ask(k.key);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'content_policy_violation' });
    expect(s.fake.requestsTo('/backend-api/codex/responses')).toHaveLength(1);
    await accountsUntouched();
  });

  it('in the stream (response.failed bio_policy) is relayed as the client asked for it, not a 502', async () => {
    const k = await createKey(s.gw);
    s.fake.faultNext({ kind: 'failed_in_stream', code: 'bio_policy', message: 'Flagged.' });
    const r = await ask(k.key);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'bio_policy' });
    expect(s.fake.requestsTo('/backend-api/codex/responses')).toHaveLength(1);
    await accountsUntouched();
  });
});

describe('a key that trips the threshold', () => {
  it('is suspended while the same accounts keep serving other keys; an admin lifts it', async () => {
    const bad = await createKey(s.gw);
    const good = await createKey(s.gw);
    const suspensions = await metric('cg_key_suspensions_total');
    // Three kinds of policy signal: an HTTP refusal, a response.failed code, an answer cut by the content filter.
    s.fake.faultNext({ kind: 'policy_refusal' });
    expect((await ask(bad.key)).status).toBe(400);
    s.fake.faultNext({ kind: 'failed_in_stream', code: 'invalid_prompt' });
    expect((await ask(bad.key)).status).toBe(400);
    expect(await suspended(bad)).toBeNull();
    s.fake.respondWith({ incomplete: 'content_filter' });
    const cut = await ask(bad.key);
    expect(cut.status).toBe(200);
    expect(cut.body.status).toBe('incomplete');
    await eventually(async () => (await suspended(bad)) !== null, 'the key suspended');

    const refused = await ask(bad.key);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'key_suspended_policy', type: 'permission_error' });
    expect(refused.body.error.message).toMatch(/suspended.*content-policy.*administrator/);
    const upstreamBefore = s.fake.requestsTo('/backend-api/codex/responses').length;
    // The other key is served by both accounts, as before.
    for (let i = 0; i < 4; i++) expect((await ask(good.key)).status).toBe(200);
    const served = s.fake.requestsTo('/backend-api/codex/responses').slice(upstreamBefore);
    expect(served).toHaveLength(4);
    expect(new Set(served.map((r) => r.chatgptAccountId)).size).toBe(2);
    await accountsUntouched();

    expect(await metric('cg_key_suspensions_total')).toBe(suspensions + 1);
    const audit = await query<{ action: string; actorType: string; details: any }>(
      s.gw,
      `SELECT action, "actorType", details FROM audit_logs WHERE "targetId" = $1 ORDER BY id`,
      [bad.keyId],
    );
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'key.suspend',
        actorType: 'system',
        details: expect.objectContaining({ scope: 'key', refusals: 3, threshold: 3 }),
      }),
    ]);
    const shown = await call(s.gw, 'GET', `/admin/api/keys/${bad.keyId}`, { key: admin });
    expect(shown.body.suspendedAt).toEqual(expect.any(String));
    expect(shown.body.suspendedReason).toMatch(/3 content-policy refusals of this key/);

    // A member cannot lift it; an admin can, and the key works at once (every replica's cache is invalidated).
    const member = await call(s.gw, 'POST', `/admin/api/keys/${bad.keyId}/lift-suspension`, {
      key: good.key,
    });
    expect([401, 403]).toContain(member.status);
    const lifted = await call(s.gw, 'POST', `/admin/api/keys/${bad.keyId}/lift-suspension`, { key: admin });
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ id: bad.keyId, suspendedAt: null, suspendedReason: null });
    expect((await ask(bad.key)).status).toBe(200);
    expect(
      (await query(s.gw, `SELECT action FROM audit_logs WHERE "targetId" = $1 ORDER BY id`, [bad.keyId])).map(
        (a) => a.action,
      ),
    ).toEqual(['key.suspend', 'key.unsuspend']);
    // The count started again: one more refusal does not suspend it.
    s.fake.faultNext({ kind: 'policy_refusal' });
    expect((await ask(bad.key)).status).toBe(400);
    await new Promise((r) => setTimeout(r, 300));
    expect(await suspended(bad)).toBeNull();
  });

  it("a user's refusals spread over keys suspend the key that reaches the user's threshold", async () => {
    const user = await createUser(s.gw);
    const k1 = await createKey(s.gw, { userId: user.id });
    const k2 = await createKey(s.gw, { userId: user.id });
    for (const k of [k1, k1, k2]) {
      s.fake.faultNext({ kind: 'policy_refusal', code: 'content_policy_violation' });
      const r = await ask(k.key);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('content_policy_violation');
      await new Promise((res) => setTimeout(res, 100)); // counted in order
    }
    await eventually(async () => (await suspended(k2)) !== null, 'the second key suspended');
    expect(await suspended(k1)).toBeNull();
    expect((await ask(k2.key)).status).toBe(403);
    expect((await ask(k1.key)).status).toBe(200);
    const audit = await query<{ details: any }>(
      s.gw,
      `SELECT details FROM audit_logs WHERE "targetId" = $1 AND action = 'key.suspend'`,
      [k2.keyId],
    );
    expect(audit[0].details).toMatchObject({ scope: 'user', refusals: 3, userId: user.id });
    await accountsUntouched();
  });

  it('over the WebSocket: an open socket gets the 403 on its next frame, a new upgrade is refused', async () => {
    const k = await createKey(s.gw);
    const conn = await connectWs(s.gw, k.key);
    s.fake.faultNext({ kind: 'policy_refusal' }, 3);
    for (let i = 0; i < 3; i++) expect((await ask(k.key)).status).toBe(400);
    await eventually(async () => (await suspended(k)) !== null, 'the key suspended');
    conn.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.5', input: 'still there?' }));
    const frame = await conn.next((f) => f.type === 'error');
    expect(JSON.stringify(frame)).toContain('key_suspended_policy');
    conn.ws.close();
    await expect(connectWs(s.gw, k.key)).rejects.toMatchObject({ status: 403 });
  });

  it('other client errors are not policy refusals', async () => {
    const k = await createKey(s.gw);
    s.fake.faultNext({ kind: 'failed_in_stream', code: 'context_length_exceeded' }, 4);
    for (let i = 0; i < 4; i++) expect((await ask(k.key)).status).toBe(400);
    await new Promise((r) => setTimeout(r, 300));
    expect(await suspended(k)).toBeNull();
  });
});
