import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A single-instance Redis lock (SET key token NX PX ttl; release and extend only by the token's owner, atomically
 * in Lua). Enough for one Redis (no Redlock quorum): see docs/adr/0003-redis-lock.md.
 */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export interface Lock {
  key: string;
  token: string;
  /** false when the lock had expired or was taken by someone else. */
  release(): Promise<boolean>;
  extend(ttlMs: number): Promise<boolean>;
}

export class RedisLock {
  constructor(private readonly redis: Redis) {}

  /** Tries once; returns null when someone else holds it. */
  async tryAcquire(key: string, ttlMs: number): Promise<Lock | null> {
    const token = randomBytes(16).toString('hex');
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return null;
    return {
      key,
      token,
      release: async () => (await this.redis.eval(RELEASE, 1, key, token)) === 1,
      extend: async (ms: number) => (await this.redis.eval(EXTEND, 1, key, token, String(ms))) === 1,
    };
  }

  /** Retries until acquired or `waitMs` passes (then null). */
  async acquire(key: string, ttlMs: number, waitMs: number, retryMs = 50): Promise<Lock | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = await this.tryAcquire(key, ttlMs);
      if (lock) return lock;
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, retryMs + Math.floor(Math.random() * retryMs)));
    }
  }

  /** Resolves once the key is gone (released or expired), or false after `waitMs`. */
  async waitForRelease(key: string, waitMs: number, pollMs = 50): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if ((await this.redis.exists(key)) === 0) return true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return false;
  }

  /** Runs `fn` holding the lock; throws if it cannot be acquired within `waitMs`. */
  async withLock<T>(key: string, ttlMs: number, waitMs: number, fn: (lock: Lock) => Promise<T>): Promise<T> {
    const lock = await this.acquire(key, ttlMs, waitMs);
    if (!lock) throw new Error(`could not acquire lock ${key} within ${waitMs} ms`);
    try {
      return await fn(lock);
    } finally {
      await lock.release().catch(() => false);
    }
  }
}
