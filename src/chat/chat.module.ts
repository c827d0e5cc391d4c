import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { AzureChatController, ChatController } from './chat.controller.js';

@Module({ imports: [GatewayModule], controllers: [ChatController, AzureChatController] })
export class ChatModule {}
