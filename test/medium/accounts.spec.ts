import { randomBytes } from 'node:crypto';
import type { TestGateway } from '../support/gateway.js';
import { startServices, type Services } from '../support/medium.js';
import { eventually, query as gatewayQuery } from '../support/wait.js';
import { seedAccount } from '../support/accounts.js';
import { AccountSource } from '../../src/accounts/account-source.js';
import { AccountsService } from '../../src/accounts/accounts.service.js';
import { CredentialsCipher } from '../../src/accounts/credentials.js';
import { KeyRing } from '../../src/common/crypto.js';
import { keyIdOf } from '../../src/config/load-config.js';
import { accountsReencrypt, authStatus, type CliIo } from '../../src/accounts/accounts.cli.js';

/**
 * Storage, cache invalidation across processes, key rotation and `auth status` (medium: AccountsService and
 * AccountSource on real Postgres/Redis; no upstream call needed, tokens far from expiry).
 */
const query = (s: Services, sql: string, params: unknown[] = []) =>
  gatewayQuery(s as unknown as TestGateway, sql, params); // it reads only the database address

/** The gateway path's port (abstract, so not through `Services.get`). */
const sourceOf = (s: Services): AccountSource => s.app.get(AccountSource);

/** Another process of the same deployment: same database and Redis prefix (its own fresh ones stay unused). */
const sharing = (s: Services) => ({ DATABASE_URL: s.db.url, REDIS_KEY_PREFIX: s.config.REDIS_KEY_PREFIX });
function jwt(payload: Record<string, unknown>): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none', typ: 'JWT' })}.${b(payload)}.${randomBytes(8).toString('base64url')}`;
}

function tokensFor(accountId: string, userId: string, email: string, plan = 'pro', ttlSeconds = 86400) {
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const auth = { chatgpt_account_id: accountId, chatgpt_user_id: userId, chatgpt_plan_type: plan };
  return {
    idToken: jwt({ email, 'https://api.openai.com/auth': auth, nonce: randomBytes(4).toString('hex') }),
    accessToken: jwt({
      exp,
      'https://api.openai.com/auth': auth,
      'https://api.openai.com/profile': { email },
    }),
    refreshToken: `rt_${randomBytes(16).toString('hex')}`,
    exp: new Date(exp * 1000),
  };
}

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
    openBrowser: () => {},
  };
  return io;
}

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');

describe('accounts: storage, cache, rotation, auth status', () => {
  let a: Services;
  let b: Services;
  beforeAll(async () => {
    a = await startServices({ ENCRYPTION_KEY: K1 });
    b = await startServices({ ...sharing(a), ENCRYPTION_KEY: K1 });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('stores a login encrypted (no token in clear anywhere in the row) and updates the same account on a second login', async () => {
    const svc = a.get(AccountsService);
    const t1 = tokensFor('acct-store', 'user-store', 'store@example.com', 'plus');
    const first = await svc.saveLogin(t1, 'import', { type: 'system' });
    expect(first.created).toBe(true);
    expect(first.account).toMatchObject({
      email: 'store@example.com',
      planType: 'plus',
      chatgptAccountId: 'acct-store',
      status: 'active',
    });
    expect(JSON.stringify(first.account)).not.toContain(t1.refreshToken);

    const t2 = tokensFor('acct-store', 'user-store', 'store@example.com', 'pro');
    const second = await svc.saveLogin(t2, 'pkce', { type: 'system' });
    expect(second.created).toBe(false);
    expect(second.account.id).toBe(first.account.id);
    expect(second.account.planType).toBe('pro');

    const rows = await query(a, `SELECT * FROM accounts WHERE "chatgptAccountId" = 'acct-store'`);
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows, (_k, v) =>
      v && v.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v,
    );
    const raw = Buffer.from(rows[0].credentials).toString('latin1');
    for (const secret of [
      t1.accessToken,
      t1.refreshToken,
      t1.idToken,
      t2.accessToken,
      t2.refreshToken,
      t2.idToken,
    ]) {
      expect(dump).not.toContain(secret);
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain(secret.split('.')[1] ?? secret);
    }
    expect(rows[0].credentialsKeyId).toBe(keyIdOf(Buffer.from(K1, 'base64')));
    // Same format as the seed helper: KeyRing.seal(JSON, aad = id).
    const opened = new CredentialsCipher(new KeyRing(a.config.encryptionKeys)).open(
      rows[0].id,
      rows[0].credentials,
      rows[0].credentialsKeyId,
    );
    expect(opened).toEqual({
      access_token: t2.accessToken,
      refresh_token: t2.refreshToken,
      id_token: t2.idToken,
    });

    const audit = await query(a, `SELECT action, details FROM audit_logs WHERE "targetId" = $1 ORDER BY id`, [
      first.account.id,
    ]);
    expect(audit.map((r) => r.action)).toEqual(['account.login', 'account.relogin']);
    expect(JSON.stringify(audit)).not.toContain(t1.refreshToken);
  });

  it('serves seeded accounts through AccountSource and drops caches in every instance on a change', async () => {
    const t = tokensFor('acct-cache', 'user-cache', 'cache@example.com');
    const id = await seedAccount(a, {
      ...t,
      chatgptAccountId: 'acct-cache',
      chatgptUserId: 'user-cache',
      email: 'cache@example.com',
      accessTokenExpiresAt: t.exp,
    });
    const srcA = sourceOf(a);
    const srcB = sourceOf(b);
    // The lists may have been cached before the seed: a change event from anyone refreshes them.
    await a.get(AccountsService).markAllChanged();
    await eventually(
      async () => (await srcB.listRoutable()).some((x) => x.id === id),
      'B to see the seeded account',
    );
    expect((await srcA.listRoutable()).map((x) => x.id)).toContain(id);
    const [stored] = await query(a, `SELECT "installationId" FROM accounts WHERE id = $1`, [id]);
    expect(await srcB.getCredentials(id)).toEqual({
      accountId: id,
      accessToken: t.accessToken,
      chatgptAccountId: 'acct-cache',
      installationId: stored.installationId, // the account's own device identity, the same in every instance
      proxyUrl: null, // no egress proxy of its own
    });

    await srcA.markStatus(id, 'unusable', 'usage_not_included');
    await eventually(
      async () => !(await srcB.listRoutable()).some((x) => x.id === id),
      'B to drop the unusable account',
    );
    await expect(srcB.getCredentials(id)).rejects.toMatchObject({ code: 'account_unavailable' });
    const audit = await query(
      a,
      `SELECT details FROM audit_logs WHERE "targetId" = $1 AND action = 'account.status_changed'`,
      [id],
    );
    expect(audit[0].details).toMatchObject({ from: 'active', to: 'unusable', reason: 'usage_not_included' });

    await a.get(AccountsService).patch(id, { enabled: false }, { type: 'system' });
    await srcA.markStatus(id, 'active', 'back');
    expect((await srcA.listRoutable()).some((x) => x.id === id)).toBe(false); // still disabled
  });

  it('prints every account with `auth status`', async () => {
    const io = captureIo();
    expect(await authStatus(a.config, [], io)).toBe(0);
    expect(io.stdout).toContain('store@example.com');
    expect(io.stdout).toMatch(/plan:\s+pro/);
    expect(io.stdout).toMatch(/status:\s+active/);
    expect(io.stdout).toMatch(/token expiry:\s+\d{4}-\d\d-\d\dT.*\(in (23h|1d)/);
    expect(io.stdout).toMatch(/last refresh:\s+\d{4}-/);
    expect(io.stdout).toMatch(/usage limit:\s+no data/);
    expect(io.stdout).toContain('cache@example.com');
    expect(io.stdout).toContain('[disabled]');
    expect(io.stdout).toMatch(/status:\s+active/);
    const json = captureIo();
    await authStatus(a.config, ['--json'], json);
    expect(JSON.parse(json.stdout).length).toBeGreaterThanOrEqual(2);
    expect(json.stdout).not.toMatch(/rt_[0-9a-f]{32}/);
  });

  it('rotates keys: old rows still decrypt, `accounts reencrypt` moves them to the new key', async () => {
    const t = tokensFor('acct-rot', 'user-rot', 'rot@example.com');
    const id = await seedAccount(a, {
      ...t,
      chatgptAccountId: 'acct-rot',
      chatgptUserId: 'user-rot',
      accessTokenExpiresAt: t.exp,
    });
    const rotated = await startServices({ ...sharing(a), ENCRYPTION_KEY: K2, ENCRYPTION_KEYS_OLD: K1 });
    try {
      expect((await sourceOf(rotated).getCredentials(id)).accessToken).toBe(t.accessToken);
      const io = captureIo();
      expect(await accountsReencrypt(rotated.config, [], io)).toBe(0);
      expect(io.stdout).toMatch(/re-encrypted [1-9]\d* account\(s\) with key [0-9a-f]{8}; 0 failed/);
      const rows = await query(a, `SELECT id, credentials, "credentialsKeyId" FROM accounts`);
      const k2id = keyIdOf(Buffer.from(K2, 'base64'));
      expect(rows.every((r) => r.credentialsKeyId === k2id)).toBe(true);
      // Only the new key is needed now.
      const only2 = new CredentialsCipher(new KeyRing([{ id: k2id, key: Buffer.from(K2, 'base64') }]));
      const row = rows.find((r) => r.id === id);
      expect(only2.open(id, row.credentials, row.credentialsKeyId).access_token).toBe(t.accessToken);
      // Nothing left to move.
      const again = captureIo();
      await accountsReencrypt(rotated.config, [], again);
      expect(again.stdout).toMatch(/re-encrypted 0 account/);
    } finally {
      await rotated.close();
    }
  });
});
