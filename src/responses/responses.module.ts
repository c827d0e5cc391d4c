import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { ModelsModule } from '../models/models.module.js';
import { ResponsesController } from './responses.controller.js';
import { ResponsesSocketServer } from './responses-ws.js';

@Module({
  imports: [GatewayModule, ModelsModule],
  controllers: [ResponsesController],
  providers: [ResponsesSocketServer],
})
export class ResponsesModule {}
