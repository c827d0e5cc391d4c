import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';

export interface Session {
  userId: string;
  createdAt: number;
  /** How the person proved who they are; 'oidc' sessions younger than SSO_REAUTH_MAX_AGE_SECONDS count as a fresh SSO sign-in. */
  via?: 'password' | 'oidc';
}

/**
 * Admin sign-in sessions in Redis. The cookie holds a random id; Redis holds only its SHA-256, so a Redis dump
 * does not yield usable cookies. Idle expiry = the key's TTL, refreshed on use; absolute expiry = createdAt.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private keyFor(sid: string): string {
    return this.redis.key('session', createHash('sha256').update(sid).digest('hex'));
  }
  private userSet(userId: string): string {
    return this.redis.key('sessions-of', userId);
  }

  get idleSeconds(): number {
    return this.config.SESSION_IDLE_SECONDS;
  }

  async create(userId: string, via: Session['via'] = 'password'): Promise<string> {
    const sid = randomBytes(32).toString('base64url');
    const s: Session = { userId, createdAt: Date.now(), via };
    const k = this.keyFor(sid);
    await this.redis.client
      .multi()
      .set(k, JSON.stringify(s), 'EX', this.config.SESSION_IDLE_SECONDS)
      .sadd(this.userSet(userId), k)
      .expire(this.userSet(userId), this.config.SESSION_ABSOLUTE_SECONDS)
      .exec();
    return sid;
  }

  async get(sid: string): Promise<Session | null> {
    const k = this.keyFor(sid);
    const raw = await this.redis.client.get(k);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    const left = s.createdAt + this.config.SESSION_ABSOLUTE_SECONDS * 1000 - Date.now();
    if (left <= 0) {
      await this.redis.client.del(k);
      return null;
    }
    await this.redis.client.expire(k, Math.min(this.config.SESSION_IDLE_SECONDS, Math.ceil(left / 1000)));
    return s;
  }

  async destroy(sid: string): Promise<void> {
    await this.redis.client.del(this.keyFor(sid));
  }

  /** Ends every session of a user (disabled, demoted, deleted, password changed), except `keepSid`'s. */
  async destroyAll(userId: string, keepSid?: string): Promise<void> {
    const keep = keepSid ? this.keyFor(keepSid) : null;
    const keys = (await this.redis.client.smembers(this.userSet(userId))).filter((k) => k !== keep);
    if (keys.length) await this.redis.client.del(...keys);
    if (!keep) await this.redis.client.del(this.userSet(userId));
    else if (keys.length) await this.redis.client.srem(this.userSet(userId), ...keys);
  }
}
