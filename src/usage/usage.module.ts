import { Global, Module } from '@nestjs/common';
import { UsageController } from './usage.controller.js';
import { UsageRepository } from './usage.repository.js';
import { UsageService } from './usage.service.js';

@Global()
@Module({
  providers: [UsageRepository, UsageService],
  exports: [UsageService],
  controllers: [UsageController],
})
export class UsageModule {}
