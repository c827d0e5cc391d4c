import { Global, Module } from '@nestjs/common';
import { AdminAuthentication, AdminGuard, UserGuard } from '../common/admin-guards.js';
import { AdminAuthenticator } from './admin-authenticator.js';
import { AuthController } from './auth.controller.js';
import { SessionsService } from './sessions.service.js';
import { SettingsService } from './settings.service.js';
import { SignInService } from './sign-in.service.js';
import { SettingsController, UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

/**
 * People who sign in to the gateway: users and roles, admin/member sign-in with Redis sessions, CSRF, gateway
 * settings, and the guards of the admin API (`AdminGuard`, `UserGuard`). Global so the guards work from any
 * module. (The subscription accounts' OAuth is elsewhere: `accounts/oauth/`.)
 */
@Global()
@Module({
  controllers: [AuthController, UsersController, SettingsController],
  providers: [
    SessionsService,
    SettingsService,
    UsersService,
    SignInService,
    AdminAuthenticator,
    { provide: AdminAuthentication, useExisting: AdminAuthenticator },
    AdminGuard,
    UserGuard,
  ],
  exports: [
    SessionsService,
    SettingsService,
    UsersService,
    AdminAuthenticator,
    AdminAuthentication,
    AdminGuard,
    UserGuard,
  ],
})
export class AuthModule {}
