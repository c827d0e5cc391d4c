import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '../redis/redis.service.js';
import { KeysRepository, type KeyRow } from './keys.repository.js';
import { limitsOf, type RequestAuth } from '../common/auth-context.js';

/** What the hot path needs of a key, cached in memory by the key's hash. */
export interface CachedKey {
  keyId: string;
  userId: string;
  email: string;
  role: 'admin' | 'member';
  userDisabled: boolean;
  scope: 'api' | 'admin';
  allowedModels: string[];
  limits: RequestAuth['limits'];
  /** The admin-set limits of the key's user (null when none is set). */
  userLimits: RequestAuth['limits'] | null;
  expiresAt: number | null;
  revoked: boolean;
  /** Epoch ms since the key is suspended for content-policy refusals (null: not suspended). */
  suspendedAt: number | null;
}

interface Entry {
  value: CachedKey | null;
  at: number;
}

const POSITIVE_TTL_MS = 5 * 60_000; // safety net only: invalidation is by pub/sub
const NEGATIVE_TTL_MS = 30_000;
const MAX_POSITIVE = 50_000;
const MAX_NEGATIVE = 10_000;
const TOUCH_FLUSH_MS = 5_000;

export type Invalidation = { hash: string } | { userId: string } | { all: true };

/**
 * In-memory key cache (no DB query per request after the first) with negative caching of unknown hashes, kept
 * coherent across replicas through a Redis pub/sub channel, plus batched `lastUsedAt` writes.
 */
@Injectable()
export class KeyCacheService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('keys');
  private readonly positive = new Map<string, Entry>();
  private readonly negative = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<CachedKey | null>>();
  private touched = new Set<string>();
  private sub?: Redis;
  private timer?: NodeJS.Timeout;
  private readonly channel: string;

  constructor(
    private readonly repo: KeysRepository,
    private readonly redis: RedisService,
  ) {
    this.channel = redis.key('keys', 'invalidate');
  }

  async onModuleInit(): Promise<void> {
    this.sub = this.redis.duplicate('keys-sub', { maxRetriesPerRequest: null });
    this.sub.on('message', (channel, message) => {
      if (channel !== this.channel) return;
      try {
        this.applyInvalidation(JSON.parse(message) as Invalidation);
      } catch {
        this.clear();
      }
    });
    // Re-subscribing after a reconnect is done by ioredis; anything missed while down is cleared on reconnect.
    this.sub.on('ready', () => this.clear());
    // Not awaited: with Redis down at start the subscription waits in ioredis' offline queue (no retry limit on
    // this connection) instead of failing or hanging the app's start; /readyz reports Redis meanwhile.
    void this.sub
      .subscribe(this.channel)
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'subscribe failed'));
    this.timer = setInterval(() => void this.flushTouches(), TOUCH_FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushTouches();
    // The duplicate connection is closed by RedisService.
  }

  async lookup(hash: string): Promise<CachedKey | null> {
    const now = Date.now();
    const pos = this.positive.get(hash);
    if (pos && now - pos.at < POSITIVE_TTL_MS) return pos.value;
    const neg = this.negative.get(hash);
    if (neg && now - neg.at < NEGATIVE_TTL_MS) return null;
    let p = this.inflight.get(hash);
    if (!p) {
      p = this.load(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, p);
    }
    return p;
  }

  private async load(hash: string): Promise<CachedKey | null> {
    const row = await this.repo.findKeyByHash(hash);
    const value = row ? toCached(row) : null;
    if (value) {
      bounded(this.positive, MAX_POSITIVE);
      this.positive.set(hash, { value, at: Date.now() });
      this.negative.delete(hash);
    } else {
      bounded(this.negative, MAX_NEGATIVE);
      this.negative.set(hash, { value: null, at: Date.now() });
    }
    return value;
  }

  touch(keyId: string): void {
    this.touched.add(keyId);
  }

  async flushTouches(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched = new Set();
    try {
      await this.repo.touchKeys(ids, new Date());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'lastUsedAt flush failed');
    }
  }

  /** Drops the entries here and tells every replica to do the same. */
  async invalidate(msg: Invalidation): Promise<void> {
    this.applyInvalidation(msg);
    await this.redis.client.publish(this.channel, JSON.stringify(msg));
  }

  private applyInvalidation(msg: Invalidation): void {
    if ('hash' in msg) {
      this.positive.delete(msg.hash);
      this.negative.delete(msg.hash);
    } else if ('userId' in msg) {
      for (const [h, e] of this.positive) if (e.value?.userId === msg.userId) this.positive.delete(h);
    } else {
      this.clear();
    }
  }

  private clear(): void {
    this.positive.clear();
    this.negative.clear();
  }
}

function bounded(map: Map<string, Entry>, max: number): void {
  // Maps iterate in insertion order: drop the oldest tenth when full.
  if (map.size < max) return;
  let n = Math.ceil(max / 10);
  for (const k of map.keys()) {
    map.delete(k);
    if (--n <= 0) break;
  }
}

export function toCached(row: KeyRow): CachedKey {
  return {
    keyId: row.id,
    userId: row.userId,
    email: row.user.email,
    role: row.user.role,
    userDisabled: row.user.disabled,
    scope: row.scope,
    allowedModels: row.allowedModels,
    limits: limitsOf(row),
    userLimits: limitsOf(row.user),
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    revoked: row.revokedAt !== null,
    suspendedAt: row.suspendedAt ? row.suspendedAt.getTime() : null,
  };
}
