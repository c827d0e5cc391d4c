import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { UsersRepository } from './users.repository.js';
import { dummyHash, verifyPassword } from './password.js';
import { SessionsService } from './sessions.service.js';
import { presentUser } from './users.service.js';

/**
 * KEYS[1]: the (account, IP) pair's hash {n, until}; KEYS[2]: the IP's counter. ARGV: maxPair, maxIp, windowMs,
 * baseMs, capMs. Counts the attempt BEFORE the password is checked, atomically, so parallel guesses cannot all
 * be evaluated. Returns {1} when the attempt may be evaluated, else {0, retryAfterMs}.
 * A pair that reached maxPair failures backs off exponentially (base = window/30, 2×base, … up to the window)
 * instead of being
 * locked for a fixed time; other IPs are not affected, so nobody can lock the admin out from elsewhere.
 */
const ATTEMPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilv = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < untilv then return {0, untilv - now} end
local m = redis.call('INCR', KEYS[2])
if m == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if m > tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[2])} end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local max = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
if n >= max then
  local backoff = math.min(tonumber(ARGV[5]), tonumber(ARGV[4]) * 2 ^ (n - max))
  redis.call('HSET', KEYS[1], 'until', now + backoff)
  ttl = ttl + backoff
end
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 0}`;

type SignInRedis = Redis & {
  cgLoginAttempt(...args: (string | number)[]): Promise<[number, number]>;
};

/**
 * Sign-in (admins; members too, for their own keys when allowed) with brute-force throttling counted in Redis
 * before the password check: per (account, IP) pair with exponential backoff after
 * LOGIN_MAX_FAILURES_PER_ACCOUNT failures, and per IP (LOGIN_MAX_FAILURES_PER_IP attempts per window, a success
 * gives its attempt back). Refused attempts get 429 with Retry-After, even with the right password; a success
 * clears the pair.
 */
@Injectable()
export class SignInService {
  private readonly r: SignInRedis;

  constructor(
    private readonly repo: UsersRepository,
    private readonly auditLog: AuditRepository,
    private readonly sessions: SessionsService,
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const client = redis.client as SignInRedis;
    if (typeof client.cgLoginAttempt !== 'function')
      client.defineCommand('cgLoginAttempt', { numberOfKeys: 2, lua: ATTEMPT });
    this.r = client;
  }

  async login(email: string, password: string, ip: string) {
    const normalized = email.trim().toLowerCase();
    // The email is hashed so Redis keys do not list who was attacked.
    const pair = createHash('sha256').update(`${normalized}\n${ip}`).digest('hex');
    const pairKey = this.redis.key('login-fail-pair', pair);
    const ipKey = this.redis.key('login-fail-ip', ip);
    const windowMs = this.config.LOGIN_THROTTLE_WINDOW_SECONDS * 1000;
    const [allowed, retryMs] = await this.r.cgLoginAttempt(
      pairKey,
      ipKey,
      this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      this.config.LOGIN_MAX_FAILURES_PER_IP,
      windowMs,
      Math.max(1000, Math.round(windowMs / 30)),
      windowMs,
    );
    if (!allowed) this.throttled(Number(retryMs));

    const user = await this.repo.findUserByEmail(normalized);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok || user.disabled) {
      await this.auditLog.audit({
        actorType: 'anonymous',
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: user?.id ?? null,
        details: { ip, reason: !user || !ok ? 'bad_credentials' : 'disabled' },
      });
      throw ApiError.unauthorized('Wrong email or password.', 'invalid_credentials');
    }
    await this.redis.client.multi().del(pairKey).decr(ipKey).exec();
    const local = this.config.LOCAL_SIGNIN;
    if (local === 'off' || (local === 'admins' && user.role !== 'admin')) {
      await this.auditLog.audit({
        actorType: 'anonymous',
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: user.id,
        details: { ip, reason: 'local_signin_disabled' },
      });
      throw ApiError.forbidden(
        local === 'off'
          ? 'Password sign-in is turned off here. Use single sign-on.'
          : 'Members sign in with single sign-on here.',
        'local_signin_disabled',
      );
    }
    const sid = await this.openSession(user.id, ip);
    return { sid, user: presentUser(user) };
  }

  /** A new session for a user who proved who they are (password here, SSO in oidc/), audited `auth.login`. */
  async openSession(userId: string, ip: string, via?: 'oidc'): Promise<string> {
    const sid = await this.sessions.create(userId, via ?? 'password');
    await this.auditLog.audit({
      actorType: 'user',
      actorId: userId,
      action: 'auth.login',
      targetType: 'user',
      targetId: userId,
      details: via ? { ip, via } : { ip },
    });
    return sid;
  }

  private throttled(retryMs: number): never {
    throw ApiError.rateLimited(
      'Too many failed sign-ins. Try again later.',
      Math.max(1, retryMs) / 1000,
      'too_many_attempts',
    );
  }
}
