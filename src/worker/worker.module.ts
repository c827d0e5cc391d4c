import { Module } from '@nestjs/common';
import { AccountLoginModule } from '../accounts/login/login.module.js';
import { UsagePollerModule } from '../accounts/pool/usage-poller.module.js';
import { AccountsProcessor } from './accounts.processor.js';
import { QueueMetrics } from './queue.metrics.js';

/**
 * The `worker` role: BullMQ processors (token refresh, device-code polling, sweeps) and the usage poller. Loaded by `worker` and `all`,
 * never by `serve`, so API replicas and worker replicas scale separately. Feature modules export their processor
 * providers and this module lists them.
 */
@Module({ imports: [AccountLoginModule, UsagePollerModule], providers: [AccountsProcessor, QueueMetrics] })
export class WorkerModule {}
