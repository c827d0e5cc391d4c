import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller.js';
import { AccountLoginController } from './oauth/account-login.controller.js';

/** HTTP side of the accounts module (serve role): the admin account API and the login flows. */
@Module({ controllers: [AccountLoginController, AccountsController] })
export class AccountsHttpModule {}
