import { Global, Module } from '@nestjs/common';
import { AuthController } from './auth.controller.js';
import { AdminAuthenticator, AdminGuard, UserGuard } from './guards/admin.guard.js';
import { ApiKeyGuard } from './guards/api-key.guard.js';
import { KeyCacheService } from './key-cache.service.js';
import { KeysController } from './keys.controller.js';
import { KeysRepository } from './keys.repository.js';
import { KeysService } from './keys.service.js';
import { LimitsModule } from './limits/limits.module.js';
import { AdminLoginService } from './login.service.js';
import { SessionsService } from './sessions.service.js';
import { SettingsService } from './settings.service.js';
import { SettingsController, UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

/**
 * Users, admin sign-in, virtual keys and the guards every HTTP module uses. Global so that
 * `@UseGuards(ApiKeyGuard)` / `@UseGuards(AdminGuard)` work from any module (the guards' dependencies are exported).
 */
@Global()
@Module({
  imports: [LimitsModule],
  controllers: [AuthController, KeysController, UsersController, SettingsController],
  providers: [
    KeysRepository,
    KeyCacheService,
    SessionsService,
    SettingsService,
    KeysService,
    UsersService,
    AdminLoginService,
    AdminAuthenticator,
    ApiKeyGuard,
    AdminGuard,
    UserGuard,
  ],
  exports: [
    KeyCacheService,
    SessionsService,
    KeysRepository,
    AdminAuthenticator,
    ApiKeyGuard,
    AdminGuard,
    UserGuard,
  ],
})
export class KeysModule {}
