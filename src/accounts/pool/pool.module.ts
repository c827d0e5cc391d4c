import { Global, Module } from '@nestjs/common';
import { PoolService } from './pool.service.js';

@Global()
@Module({ providers: [PoolService], exports: [PoolService] })
export class PoolModule {}
