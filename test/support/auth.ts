import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { TestGateway } from './gateway.js';

/**
 * Test helpers that write users and virtual keys straight into the gateway's database (same format as the keys
 * module: SHA-256 of the whole key, display prefix), so any test can get an admin or API key in one call.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomVirtualKey(): string {
  let s = '';
  while (s.length < 43) {
    for (const b of randomBytes(64)) if (b < 248 && s.length < 43) s += BASE62[b % 62];
  }
  return `sk-cg-${s}`;
}

async function withDb<T>(gw: TestGateway, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface TestUser {
  id: string;
  email: string;
  role: 'admin' | 'member';
}

export async function createUser(
  gw: TestGateway,
  opts: {
    email?: string;
    role?: 'admin' | 'member';
    name?: string;
    disabled?: boolean;
    passwordHash?: string;
  } = {},
): Promise<TestUser> {
  const id = randomUUID();
  const email = opts.email ?? `user-${id.slice(0, 8)}@example.test`;
  const role = opts.role ?? 'member';
  await withDb(gw, (c) =>
    c.query(
      `INSERT INTO users (id, email, name, role, "passwordHash", disabled, "updatedAt") VALUES ($1,$2,$3,$4,$5,$6,now())`,
      [id, email, opts.name ?? '', role, opts.passwordHash ?? null, opts.disabled ?? false],
    ),
  );
  return { id, email, role };
}

export interface TestKeyOptions {
  userId?: string;
  role?: 'admin' | 'member';
  scope?: 'api' | 'admin';
  name?: string;
  allowedModels?: string[];
  rpm?: number | null;
  tpm?: number | null;
  dailyTokenQuota?: number | null;
  monthlyTokenQuota?: number | null;
  expiresAt?: Date | null;
}

export interface TestKey {
  key: string;
  keyId: string;
  userId: string;
}

export async function createKey(gw: TestGateway, opts: TestKeyOptions = {}): Promise<TestKey> {
  const userId =
    opts.userId ??
    (await createUser(gw, { role: opts.role ?? (opts.scope === 'admin' ? 'admin' : 'member') })).id;
  const key = randomVirtualKey();
  const keyId = randomUUID();
  await withDb(gw, (c) =>
    c.query(
      `INSERT INTO api_keys (id, "userId", name, prefix, hash, scope, "allowedModels", rpm, tpm, "dailyTokenQuota",
         "monthlyTokenQuota", "expiresAt", "updatedAt")
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,now())`,
      [
        keyId,
        userId,
        opts.name ?? 'test key',
        key.slice(0, 10),
        createHash('sha256').update(key).digest('hex'),
        opts.scope ?? 'api',
        opts.allowedModels ?? [],
        opts.rpm ?? null,
        opts.tpm ?? null,
        opts.dailyTokenQuota ?? null,
        opts.monthlyTokenQuota ?? null,
        opts.expiresAt ?? null,
      ],
    ),
  );
  return { key, keyId, userId };
}

/** An admin user with an admin-scoped key: `Authorization: Bearer ${admin.key}` reaches /admin/api. */
export async function createAdminKey(gw: TestGateway): Promise<TestKey> {
  return createKey(gw, { role: 'admin', scope: 'admin', name: 'test admin' });
}
