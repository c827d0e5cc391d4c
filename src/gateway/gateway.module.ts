import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module.js';
import { GatewayPipeline } from './pipeline.service.js';
import { UsageRecorder } from './usage-recorder.js';

/** The pipeline every model route takes (admit, pick, upstream, failover, relay, record). */
@Module({
  imports: [ModelsModule],
  providers: [GatewayPipeline, UsageRecorder],
  exports: [GatewayPipeline],
})
export class GatewayModule {}
