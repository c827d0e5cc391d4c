import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { ResponsesController } from './responses.controller.js';

@Module({ imports: [GatewayModule], controllers: [ResponsesController] })
export class ResponsesModule {}
