import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller.js';

/** HTTP side of the accounts module (serve role): the admin account API (the login flows: login/login.module.ts). */
@Module({ controllers: [AccountsController] })
export class AccountsHttpModule {}
