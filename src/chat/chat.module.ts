import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { ChatController } from './chat.controller.js';

@Module({ imports: [GatewayModule], controllers: [ChatController] })
export class ChatModule {}
