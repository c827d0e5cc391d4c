import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { GatewayPipeline } from './pipeline.service.js';
import { UsageRecorder } from './usage-recorder.js';
import { ConversationIds } from './conversation.js';
import { Failover } from './failover.js';
import { AccountAttempt } from './account-attempt.js';
import { MeteredStream } from './metered-stream.js';
import { OpaqueItems } from './portable-input.js';
import { ResponseStore } from './response-store.js';
import { PolicyGuard } from './policy-guard.js';
import { ServedModels } from './served-model.js';

/** The pipeline every model route takes (admit, pick, upstream, failover, relay, record). */
@Module({
  imports: [ModelsModule],
  providers: [
    GatewayPipeline,
    UsageRecorder,
    ConversationIds,
    Failover,
    AccountAttempt,
    MeteredStream,
    OpaqueItems,
    ResponseStore,
    PolicyGuard,
    ServedModels,
  ],
  exports: [GatewayPipeline],
})
export class GatewayModule {}
