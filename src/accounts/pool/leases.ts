import { randomUUID } from 'node:crypto';
import type { RedisService } from '../../redis/redis.service.js';

/**
 * In-flight requests per account as per-process LEASES, so a crashed process's streams stop counting within
 * seconds (issue 27 item 3) instead of lingering in a counter for an hour:
 * - `pool:lease:<accountId>` is a hash: field = process id, value = that process's requests in flight there;
 * - `pool:alive:<processId>` exists while the process lives: written every HEARTBEAT_MS with a TTL of LEASE_TTL_MS
 *   (Redis' own clock, so an injected pool clock does not matter);
 * - a reader counts only the fields of processes that are alive and deletes the fields of dead ones.
 * A SIGKILLed process stops its heartbeat: its `alive` key expires after LEASE_TTL_MS and routing sees its streams
 * gone at the next pick.
 */
export const LEASE_TTL_MS = 5000;
export const HEARTBEAT_MS = 1500;
/** The lease hash outlives its writers by this much (a safety net; dead fields are pruned on read). */
const LEASE_HASH_TTL_SECONDS = 3600;

export class PoolLeases {
  readonly processId = randomUUID();
  private timer: NodeJS.Timeout | null = null;

  /** Only the connection and the key scheme: a test reads the leases the way the pool does with its own client. */
  constructor(private readonly redis: Pick<RedisService, 'client' | 'key'>) {}

  private leaseKey(accountId: string) {
    return this.redis.key('pool', 'lease', accountId);
  }
  private aliveKey(processId: string) {
    return this.redis.key('pool', 'alive', processId);
  }

  private beat(): Promise<unknown> {
    return this.redis.client.set(this.aliveKey(this.processId), String(Date.now()), 'PX', LEASE_TTL_MS);
  }

  /** Starts the heartbeat (idempotent). */
  private ensureHeartbeat(): Promise<unknown> {
    if (this.timer) return Promise.resolve();
    this.timer = setInterval(() => void this.beat().catch(() => {}), HEARTBEAT_MS);
    this.timer.unref();
    return this.beat();
  }

  /** Stops the heartbeat WITHOUT removing anything: what a killed process leaves behind (tests use it). */
  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Graceful end: the heartbeat stops and this process's leases go at once. */
  async close(accountIds: string[] = []): Promise<void> {
    this.stopHeartbeat();
    const r = this.redis.client;
    await Promise.all([
      r.del(this.aliveKey(this.processId)),
      ...accountIds.map((id) => r.hdel(this.leaseKey(id), this.processId)),
    ]).catch(() => {});
  }

  /** Commands of one request's start (issued by the caller with its other writes: one auto-pipelined round trip). */
  acquire(accountId: string): Promise<unknown>[] {
    const k = this.leaseKey(accountId);
    const r = this.redis.client;
    return [this.ensureHeartbeat(), r.hincrby(k, this.processId, 1), r.expire(k, LEASE_HASH_TTL_SECONDS)];
  }

  async release(accountId: string): Promise<void> {
    const k = this.leaseKey(accountId);
    const left = await this.redis.client.hincrby(k, this.processId, -1);
    if (left <= 0) await this.redis.client.hdel(k, this.processId);
  }

  /** Live in-flight count per account (dead processes' leases pruned on the way). */
  async inFlight(accountIds: string[]): Promise<Map<string, number>> {
    const r = this.redis.client;
    const hashes = await Promise.all(accountIds.map((id) => r.hgetall(this.leaseKey(id))));
    const procs = [...new Set(hashes.flatMap((h) => Object.keys(h)))];
    const alive = new Set<string>();
    if (procs.length) {
      const v = await r.mget(...procs.map((p) => this.aliveKey(p)));
      procs.forEach((p, i) => v[i] !== null && alive.add(p));
    }
    const out = new Map<string, number>();
    accountIds.forEach((id, i) => {
      let n = 0;
      for (const [proc, count] of Object.entries(hashes[i])) {
        if (alive.has(proc)) n += Math.max(0, Number(count) || 0);
        else void r.hdel(this.leaseKey(id), proc).catch(() => {});
      }
      out.set(id, n);
    });
    return out;
  }
}
