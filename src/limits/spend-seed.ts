import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PrismaService } from '../prisma/prisma.service.js';
import { RedisService } from '../redis/redis.service.js';
import { SEED } from './admit-scripts.js';

type SeedRedis = Redis & { cgSeed(numKeys: number, ...args: (string | number)[]): Promise<number> };

/** A month's money counter of a key or a user: its Redis key and the end of its UTC month (epoch ms). */
export interface SpendCounter {
  owner: 'key' | 'user';
  id: string;
  key: string;
  endsAt: number;
}

/**
 * Seeds a missing month spend counter (first use in the month, this version's first run, a Redis loss, a user's
 * budget set mid-month) from Postgres: the sum of the recorded `usage_records."costUsd"` of the key or the user
 * since the start of the UTC month, rounded up to a nano-dollar, set only if the counter still does not exist
 * (the SEED script), so two replicas seeding at once keep one value. What this cannot see: rows still in a
 * replica's write buffer (about a second) and requests in flight when Redis lost the counter (docs/cost.md).
 */
@Injectable()
export class SpendSeeder {
  private readonly logger = new Logger('limits');
  private readonly r: SeedRedis;

  constructor(
    private readonly prisma: PrismaService,
    redis: RedisService,
  ) {
    const client = redis.client as SeedRedis;
    if (typeof client.cgSeed !== 'function') client.defineCommand('cgSeed', { lua: SEED });
    this.r = client;
  }

  /** The month's recorded spend in nano-dollars, from the usage rows. */
  async recorded(c: SpendCounter): Promise<number> {
    const to = new Date(c.endsAt);
    const from = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - 1, 1));
    const rows =
      c.owner === 'key'
        ? await this.prisma.$queryRaw<{ nano: string }[]>`
            SELECT ceil(coalesce(sum("costUsd"), 0) * 1000000000)::bigint::text AS nano FROM usage_records
             WHERE "keyId" = ${c.id}::uuid AND "createdAt" >= ${from} AND "createdAt" < ${to}`
        : await this.prisma.$queryRaw<{ nano: string }[]>`
            SELECT ceil(coalesce(sum("costUsd"), 0) * 1000000000)::bigint::text AS nano FROM usage_records
             WHERE "userId" = ${c.id}::uuid AND "createdAt" >= ${from} AND "createdAt" < ${to}`;
    return Number(rows[0]?.nano ?? 0);
  }

  /** Seeds each counter that is still missing; false for those Postgres could not be read for (logged). */
  async seed(counters: SpendCounter[]): Promise<boolean[]> {
    return Promise.all(
      counters.map(async (c) => {
        try {
          await this.r.cgSeed(1, c.key, await this.recorded(c), c.endsAt);
          return true;
        } catch (err) {
          this.logger.warn({ err: (err as Error).message, owner: c.owner }, 'could not seed a month spend');
          return false;
        }
      }),
    );
  }

  /** The counter's value, seeded first when missing (a read on /v1/me or the admin pages counts as a first use). */
  async read(c: SpendCounter): Promise<number> {
    const v = await this.r.get(c.key);
    if (v !== null) return Math.max(0, Number(v));
    await this.seed([c]);
    return Math.max(0, Number((await this.r.get(c.key)) ?? 0));
  }
}
