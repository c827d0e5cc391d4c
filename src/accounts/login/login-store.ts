import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { KeyRing } from '../../common/crypto.js';
import { RedisService } from '../../redis/redis.service.js';
import type { Actor } from '../actor.js';

export type LoginStatus = 'pending' | 'completed' | 'expired' | 'failed';

export interface LoginRecord {
  id: string;
  kind: 'pkce' | 'device';
  status: LoginStatus;
  createdAt: number;
  expiresAt: number;
  actor: Actor;
  /** The user id of the admin who started it (session or their admin key); null from the CLI. */
  owner?: string | null;
  sealed: string;
  keyId: string;
  accountId?: string;
  error?: { code: string; message: string };
  // device only (shown to the admin)
  userCode?: string;
  verificationUri?: string;
  interval?: number;
}

/** Keep finished/expired login records this long after expiry so their status can still be read. */
const RECORD_GRACE_MS = 60 * 60_000;

/**
 * Pending logins in Redis (`login:<id>`), kept an hour past their expiry. Their secrets (PKCE verifier, state,
 * device auth id) are sealed with the encryption key, so Redis never holds them in clear.
 */
@Injectable()
export class LoginStore {
  private readonly ring: KeyRing;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.ring = new KeyRing(config.encryptionKeys);
  }

  private key(id: string): string {
    return this.redis.key('login', id);
  }

  seal(id: string, secret: object): { sealed: string; keyId: string } {
    const { keyId, data } = this.ring.seal(JSON.stringify(secret), `login:${id}`);
    return { sealed: data.toString('base64'), keyId };
  }

  open<T>(rec: LoginRecord): T {
    return JSON.parse(
      this.ring.open(Buffer.from(rec.sealed, 'base64'), rec.keyId, `login:${rec.id}`).toString('utf8'),
    ) as T;
  }

  async save(rec: LoginRecord): Promise<void> {
    const ttl = Math.max(1000, rec.expiresAt + RECORD_GRACE_MS - Date.now());
    await this.redis.client.set(this.key(rec.id), JSON.stringify(rec), 'PX', ttl);
  }

  /**
   * A pending login belongs to the admin who started it: with `owner` given (HTTP callers), another admin's
   * login reads as unknown (404), so nobody can watch or finish (and so attach an account through) someone
   * else's login. `owner` undefined = the CLI on the server itself.
   */
  async load(id: string, owner?: string | null): Promise<LoginRecord | null> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    const raw = await this.redis.client.get(this.key(id));
    const rec = raw ? (JSON.parse(raw) as LoginRecord) : null;
    if (rec && owner !== undefined && (rec.owner ?? null) !== owner) return null;
    return rec;
  }

  /** One completion per login (its code is single-use): true for the one caller that claims it. */
  async claim(id: string): Promise<boolean> {
    const claimed = await this.redis.client.set(
      `${this.key(id)}:claim`,
      '1',
      'PX',
      this.config.LOGIN_TTL_SECONDS * 1000 + RECORD_GRACE_MS,
      'NX',
    );
    return claimed === 'OK';
  }
}
