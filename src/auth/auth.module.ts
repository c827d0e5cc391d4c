import { Global, Module } from '@nestjs/common';
import { AdminAuthentication, AdminGuard, UserGuard } from '../common/admin-guards.js';
import { AdminAuthenticator } from './admin-authenticator.js';
import { AuthController } from './auth.controller.js';
import { SessionsService } from './sessions.service.js';
import { SignInService } from './sign-in.service.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { OidcController } from './oidc/oidc.controller.js';
import { OidcService } from './oidc/oidc.service.js';
import { InvitesController, UserInvitesController } from './invites/invites.controller.js';
import { InvitesRepository } from './invites.repository.js';
import { InvitesService } from './invites/invites.service.js';
import { CornerController } from './corner/corner.controller.js';
import { CornerRepository } from './corner/corner.repository.js';
import { CornerService } from './corner/corner.service.js';

/**
 * People who sign in to the gateway: users and roles, admin/member sign-in with Redis sessions, CSRF, gateway
 * settings, and the guards of the admin API (`AdminGuard`, `UserGuard`). Global so the guards work from any
 * module. (The subscription accounts' OAuth is elsewhere: `accounts/oauth/`.)
 */
@Global()
@Module({
  controllers: [
    AuthController,
    OidcController,
    UsersController,
    UserInvitesController,
    InvitesController,
    CornerController,
  ],
  providers: [
    InvitesRepository,
    InvitesService,
    CornerRepository,
    CornerService,
    UsersRepository,
    SessionsService,
    UsersService,
    SignInService,
    OidcService,
    AdminAuthenticator,
    { provide: AdminAuthentication, useExisting: AdminAuthenticator },
    AdminGuard,
    UserGuard,
  ],
  exports: [
    UsersRepository,
    SessionsService,
    UsersService,
    AdminAuthenticator,
    AdminAuthentication,
    AdminGuard,
    UserGuard,
  ],
})
export class AuthModule {}
