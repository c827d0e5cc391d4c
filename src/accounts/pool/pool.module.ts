import { Global, Module } from '@nestjs/common';
import { PoolService } from './pool.service.js';
import { AccountHealth } from './health.js';
import { DowngradeStore } from './downgrades.js';
import { UsageProbe } from './usage-probe.js';

/** The pool's shared state (Redis) and its per-process circuit breaking, for every model route. */
@Global()
@Module({
  providers: [PoolService, AccountHealth, DowngradeStore, UsageProbe],
  exports: [PoolService, AccountHealth, DowngradeStore, UsageProbe],
})
export class PoolModule {}
