import { Module } from '@nestjs/common';
import { AccountLoginController } from './account-login.controller.js';
import { AccountLoginService } from './account-login.service.js';
import { LoginStore } from './login-store.js';

/**
 * The login flows (browser PKCE, device code, auth.json import) and their sealed store, on top of the global
 * AccountsModule. Imported by the worker (device-code polling), the HTTP module below and the `auth login` CLI.
 */
@Module({ providers: [LoginStore, AccountLoginService], exports: [AccountLoginService] })
export class AccountLoginModule {}

/** HTTP side of the login flows (serve role). */
@Module({ imports: [AccountLoginModule], controllers: [AccountLoginController] })
export class AccountLoginHttpModule {}
