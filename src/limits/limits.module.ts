import { Global, Module } from '@nestjs/common';
import { LimitsService } from './limits.service.js';
import { MeController } from './me.controller.js';

@Global()
@Module({ providers: [LimitsService], exports: [LimitsService], controllers: [MeController] })
export class LimitsModule {}
