import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import { KeysRepository } from '../keys/keys.repository.js';
import { dummyHash, verifyPassword } from './password.js';
import { SessionsService } from './sessions.service.js';
import { presentUser } from './users.service.js';

/**
 * Sign-in (admins; members too, for their own keys when allowed) with brute-force throttling: failures are counted per account and per IP in Redis
 * (rate-limiter-flexible); once either budget is spent, further attempts get 429 with Retry-After until the window
 * ends, even with the right password. A success clears the account's counter.
 */
@Injectable()
export class SignInService {
  private readonly byAccount: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(
    private readonly repo: KeysRepository,
    private readonly sessions: SessionsService,
    redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const duration = config.LOGIN_THROTTLE_WINDOW_SECONDS;
    this.byAccount = new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: redis.key('login-fail-account'),
      points: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      duration,
    });
    this.byIp = new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: redis.key('login-fail-ip'),
      points: config.LOGIN_MAX_FAILURES_PER_IP,
      duration,
    });
  }

  async login(email: string, password: string, ip: string) {
    const normalized = email.trim().toLowerCase();
    // The email is hashed so Redis keys do not list who was attacked.
    const accountKey = createHash('sha256').update(normalized).digest('hex');
    const [acc, byIp] = await Promise.all([this.byAccount.get(accountKey), this.byIp.get(ip)]);
    const blocked = [
      [acc, this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT],
      [byIp, this.config.LOGIN_MAX_FAILURES_PER_IP],
    ] as const;
    for (const [res, max] of blocked) {
      if (res && res.consumedPoints >= max) this.throttled(res);
    }

    const user = await this.repo.findUserByEmail(normalized);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok || user.disabled) {
      await Promise.all([this.byAccount.penalty(accountKey, 1), this.byIp.penalty(ip, 1)]);
      await this.repo.audit({
        actorType: 'anonymous',
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: user?.id ?? null,
        details: { ip, reason: !user || !ok ? 'bad_credentials' : 'disabled' },
      });
      throw ApiError.unauthorized('Wrong email or password.', 'invalid_credentials');
    }
    await this.byAccount.delete(accountKey);
    const sid = await this.sessions.create(user.id);
    await this.repo.audit({
      actorType: 'user',
      actorId: user.id,
      action: 'auth.login',
      targetType: 'user',
      targetId: user.id,
      details: { ip },
    });
    return { sid, user: presentUser(user) };
  }

  private throttled(res: RateLimiterRes): never {
    throw ApiError.rateLimited(
      'Too many failed sign-ins. Try again later.',
      res.msBeforeNext / 1000,
      'too_many_attempts',
    );
  }
}
