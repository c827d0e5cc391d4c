import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { GatewayPipeline } from './pipeline.service.js';
import { UsageRecorder } from './usage-recorder.js';
import { AccountHealth } from '../accounts/pool/health.js';
import { ConversationIds } from './conversation.js';

/** The pipeline every model route takes (admit, pick, upstream, failover, relay, record). */
@Module({
  imports: [ModelsModule],
  providers: [GatewayPipeline, UsageRecorder, AccountHealth, ConversationIds],
  exports: [GatewayPipeline],
})
export class GatewayModule {}
