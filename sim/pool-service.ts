/**
 * `--pool-service`: the REAL PoolService (from the build in dist/, with its decorators) on the real Redis at
 * REDIS_URL, under a throwaway key prefix that is deleted afterwards, with the simulated clock injected (POOL_CLOCK).
 * It keeps the pool state and picks; the simulator plays the backend and makes the gateway's calls
 * (sim/engine.ts): every answer's report into `recordUsage`, the wham/usage poller, begin/end, cooldowns.
 *
 * Wired as the gateway wires it (src/accounts/pool/pool.module.ts, gateway/failover.ts):
 * - its AccountSource lists each account with its `reservePercent` and `maxConcurrent` (the sim's account specs);
 * - the real `AccountHealth` (circuit breaking and the score's failure share), fed with the simulated time;
 * - a `UsageProbe` whose `read` is the simulated backend's `wham/usage` (routing reads an account again when only
 *   its pending estimate keeps it out), failing as often as the poller's reads do.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { PoolStrategy } from '../src/accounts/pool/pool-choice.ts';
import type { AccountSpec, SimService } from './types.ts';

const dist = new URL('../dist/', import.meta.url);

export interface StartedPoolService extends SimService {
  stop: () => Promise<void>;
}

export async function startPoolService(
  strategy: PoolStrategy,
  accounts: AccountSpec[],
  clock: () => number,
): Promise<StartedPoolService> {
  if (!existsSync(new URL('accounts/pool/pool.service.js', dist))) {
    throw new Error('--pool-service needs a build: run `npm run build:server` first');
  }
  const load = (p: string) => import(new URL(p, dist).href);
  const [{ PoolService }, { AccountHealth }, { RedisService }, { MetricsService }, { configSchema }] =
    await Promise.all([
      load('accounts/pool/pool.service.js'),
      load('accounts/pool/health.js'),
      load('redis/redis.service.js'),
      load('metrics/metrics.service.js'),
      load('config/config.schema.js'),
    ]);
  const prefix = `sim-${process.pid}-${randomBytes(4).toString('hex')}:`;
  const config = configSchema.parse({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    POOL_STRATEGY: strategy,
    LOG_LEVEL: 'silent',
  });
  const redis = new RedisService(config);
  const metrics = new MetricsService(config);
  const pool = accounts.map((a, i) => {
    const id = `acct${String(i + 1).padStart(2, '0')}`;
    return {
      id,
      label: id,
      priority: 0,
      weight: 1,
      planType: a.plan,
      chatgptAccountId: id,
      reservePercent: a.reservePercent,
      maxConcurrent: a.maxConcurrent,
    };
  });
  const source = { listRoutable: async () => pool };
  const health = new AccountHealth(metrics, config);
  const probe: SimService['probe'] = {
    reader: null,
    reads: 0,
    // UsageProbe.read: status and report of one wham/usage GET, readAt just before it went out.
    async read(a: { id: string }) {
      const readAt = clock();
      this.reads++;
      const report = this.reader?.(a.id) ?? null;
      return { status: report ? 200 : 500, report, readAt };
    },
  };
  const service = new PoolService(source, redis, config, metrics, clock, probe, health);
  return {
    port: service,
    health,
    probe,
    stop: async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.client.del(...keys);
      } while (cursor !== '0');
      await redis.client.quit();
      metrics.registry?.clear?.();
    },
  };
}
