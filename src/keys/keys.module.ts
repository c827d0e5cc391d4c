import { Global, Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';
import { KeyCacheService } from './key-cache.service.js';
import { KeysController } from './keys.controller.js';
import { KeysRepository } from './keys.repository.js';
import { KeysService } from './keys.service.js';
import { MeController } from './me.controller.js';
import { KeySuspensions } from './key-suspension.service.js';
import { PolicyWindow } from './policy-window.js';

/**
 * Virtual keys (`sk-cg-…`): storage, the in-memory key cache with pub/sub invalidation, the admin/member key API
 * the API-key guard every `/v1` route uses and `/v1/me` (the calling key's limits and usage). Global so `@UseGuards(ApiKeyGuard)` works from any module.
 */
@Global()
@Module({
  controllers: [KeysController, MeController],
  providers: [KeysRepository, KeyCacheService, KeysService, ApiKeyGuard, PolicyWindow, KeySuspensions],
  exports: [KeyCacheService, KeysRepository, ApiKeyGuard, PolicyWindow, KeySuspensions],
})
export class KeysModule {}
