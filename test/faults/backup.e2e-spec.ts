import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { FakeUpstream } from '../fake-upstream/index.ts';
import { seedAccount } from '../support/accounts.js';
import { createAdminKey, createKey } from '../support/auth.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../support/db.js';
import { flushPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis.js';
import { GatewayProc, hasBuild, modelRequest, report, seedTarget, gatewayEnv, waitFor } from './support.js';

/**
 * Scenario 7 — backup and restore: pg_dump of a working database, pg_restore into a fresh one, the built gateway
 * on the copy. Accounts, users and keys work with the same ENCRYPTION_KEY; an account sealed with a key the
 * gateway does not have is named in the log as undecryptable and skipped while the others serve.
 */
const run = promisify(execFile);

(hasBuild ? describe : describe.skip)('faults: backup and restore', () => {
  let fake: FakeUpstream;
  let src: TestDatabase;
  let copy: TestDatabase;
  let gw: GatewayProc | undefined;
  const prefix = testPrefix();

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    src = await createTestDatabase();
    copy = await createEmptyDatabase();
  });
  afterAll(async () => {
    await gw?.kill('SIGTERM');
    await fake?.close();
    await src?.drop();
    await copy?.drop();
    await flushPrefix(prefix);
  });

  it('pg_dump → restore: same key serves; an account sealed with another key is named and skipped', async () => {
    const target = seedTarget(src.url);
    const good = [];
    for (let i = 0; i < 2; i++) {
      const a = fake.addAccount({ accessTtlSeconds: 3600 });
      good.push(
        await seedAccount(target, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: `good${i}` }),
      );
    }
    // One account sealed with a key this deployment does not have (e.g. restored from another installation).
    const other = fake.addAccount({ accessTtlSeconds: 3600 });
    const otherKey = randomBytes(32).toString('base64');
    const lost = await seedAccount(seedTarget(src.url, otherKey), {
      ...other,
      accessTokenExpiresAt: other.accessExpiresAt,
      label: 'sealed-elsewhere',
    });
    const { key } = await createKey(target);
    const admin = await createAdminKey(target);

    const file = `/tmp/cg-backup-${randomBytes(4).toString('hex')}.dump`;
    await run('pg_dump', ['-Fc', '-f', file, src.url]);
    await run('pg_restore', ['--no-owner', '-d', copy.url, file]);
    await run('rm', ['-f', file]);

    gw = await GatewayProc.start(
      'serve',
      gatewayEnv(
        fake,
        { db: copy.url, redis: TEST_REDIS_URL, prefix },
        {
          POOL_STRATEGY: 'round-robin',
        },
      ),
    );
    // Named at start, before any request could have loaded it.
    const namedAtStart = await waitFor(
      'the undecryptable account named',
      () => gw!.out.includes('cannot be decrypted'),
      10_000,
      50,
    ).catch(() => null);
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      const s = (await modelRequest(gw.url, key)).status;
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
    const adminList = await fetch(`${gw.url}/admin/api/accounts`, {
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const served = new Set(
      fake
        .requestsTo('/backend-api/codex/responses')
        .filter((r) => r.body?.input)
        .map((r) => r.chatgptAccountId),
    );
    const named = gw
      .logLines()
      .filter((l) => String(l.msg).includes('cannot be decrypted'))
      .map((l) => l.label);
    report('backup-restore', {
      sent: 12,
      byStatus: statuses,
      adminApi: adminList.status,
      accountsServing: served.size,
      undecryptableNamed: named,
      namedAfterListeningMs: namedAtStart,
    });
    expect(statuses['200']).toBe(12);
    expect(adminList.status).toBe(200);
    const listed = (await adminList.json()) as { data?: unknown[] } | unknown[];
    expect((Array.isArray(listed) ? listed : (listed.data ?? [])).length).toBe(3);
    expect(namedAtStart).not.toBeNull();
    expect(named).toEqual(['sealed-elsewhere']); // once, though requests came afterwards
    expect(gw.out).toContain(lost);
    expect(served.has(other.chatgptAccountId)).toBe(false);
    expect(good).toHaveLength(2);
  }, 120_000);
});
