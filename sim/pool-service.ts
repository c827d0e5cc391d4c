/**
 * `--pool-service`: the REAL PoolService (from the build in dist/, with its decorators) on the real Redis at
 * REDIS_URL, under a throwaway key prefix that is deleted afterwards, with the simulated clock injected (POOL_CLOCK).
 * It then keeps the pool state and picks; the simulator only plays the backend and the gateway's calls.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { PoolStrategy } from '../src/accounts/pool/pool-choice.ts';
import type { AccountSpec, PoolServicePort } from './engine.ts';

const dist = new URL('../dist/', import.meta.url);

export async function startPoolService(
  strategy: PoolStrategy,
  accounts: AccountSpec[],
  clock: () => number,
): Promise<{ port: PoolServicePort; stop: () => Promise<void> }> {
  if (!existsSync(new URL('accounts/pool/pool.service.js', dist))) {
    throw new Error('--pool-service needs a build: run `npm run build:server` first');
  }
  const load = (p: string) => import(new URL(p, dist).href);
  const [{ PoolService }, { RedisService }, { MetricsService }, { configSchema }] = await Promise.all([
    load('accounts/pool/pool.service.js'),
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
    return { id, label: id, priority: 0, weight: 1, planType: a.plan, chatgptAccountId: id };
  });
  const source = { listRoutable: async () => pool };
  const service = new PoolService(source, redis, config, metrics, clock);
  return {
    port: service,
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
