import { Module } from '@nestjs/common';
import { ResponsesModule } from '../responses/responses.module.js';
import { ChatController } from './chat.controller.js';

@Module({ imports: [ResponsesModule], controllers: [ChatController] })
export class ChatModule {}
