import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { ACCOUNTS_QUEUE } from '../accounts/accounts.queue.js';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape never waits longer than this on Redis (BullMQ's connection queues commands while Redis is away). */
const COUNT_TIMEOUT_MS = 1000;

/**
 * `cg_queue_jobs{queue,state}`: BullMQ job counts, read at scrape time by the worker processes (the role that
 * runs the jobs). Waiting jobs piling up means the workers do not keep up or are stuck (refreshes will be late);
 * delayed ones are normal (one scheduled refresh per account). While Redis cannot answer the series are left out
 * of the scrape rather than reported stale.
 */
@Injectable()
export class QueueMetrics {
  constructor(@InjectQueue(ACCOUNTS_QUEUE) queue: Queue, metrics: MetricsService, redis: RedisService) {
    const gauge: Gauge<'queue' | 'state'> = new Gauge({
      name: 'cg_queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, active, delayed, failed), read when scraped',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      collect: async () => {
        gauge.reset();
        if (redis.unreachable) return;
        let timer: NodeJS.Timeout | undefined;
        const counts = await Promise.race([
          queue.getJobCounts(...QUEUE_STATES).catch(() => null),
          new Promise<null>((r) => (timer = setTimeout(() => r(null), COUNT_TIMEOUT_MS))),
        ]).finally(() => clearTimeout(timer));
        if (!counts) return;
        for (const state of QUEUE_STATES) gauge.set({ queue: ACCOUNTS_QUEUE, state }, counts[state] ?? 0);
      },
    });
  }
}
