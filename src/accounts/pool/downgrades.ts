import { Injectable } from '@nestjs/common';
import { RedisService } from '../../redis/redis.service.js';

/** One (requested → served) pair an account answered with another model than the one asked for. */
export interface DowngradeView {
  requested: string;
  served: string;
  count: number;
  lastAt: string | null;
}

const SEP = ' -> ';

/**
 * Silent downgrades per account (issue 25 item 6; gateway/served-model.ts decides what counts): one Redis hash per
 * account, field `<requested> -> <served>` with the count, and one with the last time. Kept until the account is
 * deleted or an admin clears Redis; the metric cg_model_downgrades_total carries the same counts over time.
 */
@Injectable()
export class DowngradeStore {
  constructor(private readonly redis: RedisService) {}

  private k(accountId: string, what: 'count' | 'last'): string {
    return this.redis.key('downgrades', what, accountId);
  }

  async note(accountId: string, requested: string, served: string, now = Date.now()): Promise<void> {
    const field = `${requested}${SEP}${served}`;
    await this.redis.client
      .multi()
      .hincrby(this.k(accountId, 'count'), field, 1)
      .hset(this.k(accountId, 'last'), field, String(now))
      .exec();
  }

  /** Each account's pairs, most frequent first (an account without any: an empty list). */
  async getMany(accountIds: string[]): Promise<Map<string, DowngradeView[]>> {
    const out = new Map<string, DowngradeView[]>();
    if (!accountIds.length) return out;
    const p = this.redis.client.pipeline();
    for (const id of accountIds) p.hgetall(this.k(id, 'count')).hgetall(this.k(id, 'last'));
    const res = (await p.exec()) ?? [];
    accountIds.forEach((id, i) => {
      const counts = (res[2 * i]?.[1] ?? {}) as Record<string, string>;
      const last = (res[2 * i + 1]?.[1] ?? {}) as Record<string, string>;
      const views = Object.entries(counts).map(([field, n]) => {
        const [requested, served] = field.split(SEP);
        const at = Number(last[field]);
        return {
          requested: requested ?? field,
          served: served ?? '',
          count: Number(n),
          lastAt: Number.isFinite(at) && at > 0 ? new Date(at).toISOString() : null,
        };
      });
      out.set(
        id,
        views.sort((a, b) => b.count - a.count),
      );
    });
    return out;
  }
}
