import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';

/**
 * Content-policy refusals per key and per user in a sliding window (POLICY_SUSPEND_WINDOW_SECONDS), shared by every
 * replica: one Redis sorted set each (member: a unique id, score: the time), trimmed to the window on every write.
 * Holds no content, only ids and times; the sets expire with the window.
 */
@Injectable()
export class PolicyWindow {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {}

  private keys(keyId: string, userId: string): [string, string] {
    return [this.redis.key('policy', 'key', keyId), this.redis.key('policy', 'user', userId)];
  }

  /** Records one refusal; returns the refusals of the key and of the user within the window, this one included. */
  async record(keyId: string, userId: string, now = Date.now()): Promise<{ key: number; user: number }> {
    const windowMs = this.config.POLICY_SUSPEND_WINDOW_SECONDS * 1000;
    const member = `${now}:${randomUUID()}`;
    const m = this.redis.client.multi();
    for (const k of this.keys(keyId, userId)) {
      m.zremrangebyscore(k, '-inf', now - windowMs);
      m.zadd(k, now, member);
      m.zcard(k);
      m.pexpire(k, windowMs);
    }
    const out = (await m.exec()) ?? [];
    const card = (i: number) => {
      const [err, v] = out[i] ?? [null, 0];
      if (err) throw err;
      return Number(v);
    };
    return { key: card(2), user: card(6) };
  }

  /** Forgets the key's and its user's refusals (an admin lifted the suspension). */
  async clear(keyId: string, userId: string): Promise<void> {
    await this.redis.client.del(...this.keys(keyId, userId));
  }
}
