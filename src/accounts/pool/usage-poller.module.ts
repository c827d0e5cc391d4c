import { Module } from '@nestjs/common';
import { UpstreamModule } from '../../upstream/upstream.module.js';
import { PoolModule } from './pool.module.js';
import { UsagePoller } from './usage-poller.js';

/** The `wham/usage` poller, loaded by the worker role (and `all`). */
@Module({ imports: [UpstreamModule, PoolModule], providers: [UsagePoller], exports: [UsagePoller] })
export class UsagePollerModule {}
