import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller.js';
import { AuthController } from '../auth/auth.controller.js';

/** HTTP side of the accounts module (serve role): the admin account API and the login flows. */
@Module({ controllers: [AuthController, AccountsController] })
export class AccountsHttpModule {}
