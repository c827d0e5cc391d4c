import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { KeyRing } from '../../src/common/crypto.js';
import type { TestGateway } from './gateway.js';

/**
 * Writes a subscription account straight into the gateway's database in the accounts module's storage format
 * (see src/accounts/account-source.ts), e.g. with tokens the fake upstream issued (`fake.addAccount`).
 */
export interface SeedAccountOptions {
  accessToken: string;
  refreshToken: string;
  idToken: string;
  chatgptAccountId: string;
  chatgptUserId?: string;
  email?: string;
  planType?: string;
  label?: string;
  priority?: number;
  weight?: number;
  enabled?: boolean;
  status?: 'active' | 'needs_reauth' | 'unusable';
  accessTokenExpiresAt?: Date | null;
}

export async function seedAccount(
  gw: Pick<TestGateway, 'config' | 'db'>,
  o: SeedAccountOptions,
): Promise<string> {
  const id = randomUUID();
  const ring = new KeyRing(gw.config.encryptionKeys);
  const sealed = ring.seal(
    JSON.stringify({ access_token: o.accessToken, refresh_token: o.refreshToken, id_token: o.idToken }),
    id,
  );
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO accounts (id, label, enabled, status, priority, weight, email, "chatgptAccountId", "chatgptUserId",
         "planType", credentials, "credentialsKeyId", "accessTokenExpiresAt", "updatedAt")
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,now())`,
      [
        id,
        o.label ?? `acct ${o.chatgptAccountId}`,
        o.enabled ?? true,
        o.status ?? 'active',
        o.priority ?? 0,
        o.weight ?? 1,
        o.email ?? null,
        o.chatgptAccountId,
        o.chatgptUserId ?? '',
        o.planType ?? 'pro',
        sealed.data,
        sealed.keyId,
        o.accessTokenExpiresAt ?? null,
      ],
    );
  } finally {
    await c.end();
  }
  return id;
}
