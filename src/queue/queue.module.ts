import { Global, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { RedisService } from '../redis/redis.service.js';

/**
 * BullMQ's root configuration: connections come from the one Redis factory (RedisService), keys live under
 * `${REDIS_KEY_PREFIX}bull`. Feature modules register their queues with `BullModule.registerQueue`;
 * processors live in the worker role only (src/worker).
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        // BullMQ requires maxRetriesPerRequest: null on connections used by workers (blocking commands).
        connection: redis.duplicate('bullmq', { maxRetriesPerRequest: null }),
        prefix: `${redis.prefix}bull`,
      }),
    }),
  ],
  exports: [BullModule],
})
export class QueueModule {}
