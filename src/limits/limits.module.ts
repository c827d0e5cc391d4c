import { Global, Module } from '@nestjs/common';
import { LimitsService } from './limits.service.js';
import { SpendSeeder } from './spend-seed.js';

@Global()
@Module({ providers: [LimitsService, SpendSeeder], exports: [LimitsService] })
export class LimitsModule {}
