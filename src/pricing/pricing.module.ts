import { Global, Module } from '@nestjs/common';
import { PricingController } from './pricing.controller.js';
import { PricingRepository } from './pricing.repository.js';
import { PricingService } from './pricing.service.js';

@Global()
@Module({
  providers: [PricingRepository, PricingService],
  exports: [PricingService],
  controllers: [PricingController],
})
export class PricingModule {}
