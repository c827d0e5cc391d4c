import { Global, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { KeyRing } from '../common/crypto.js';
import { OAuthClient } from './oauth/oauth-client.js';
import { TokenRefreshService } from './token-refresh.service.js';
import { AccountSource } from './account-source.js';
import { AccountsRepository } from './accounts.repository.js';
import { AccountsService } from './accounts.service.js';
import { AccountEvents } from './account-events.js';
import { CredentialsCipher } from './credentials.js';
import { RefreshScheduler } from './refresh-scheduler.js';
import { ACCOUNTS_QUEUE } from './accounts.queue.js';
import { AccountsMetrics } from './accounts.metrics.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { ProxyHealth } from './proxy-health.js';

/**
 * Accounts and their OAuth tokens (storage, refresh). Global and loaded in every role: the API (pool, upstream
 * 401 recovery, admin) and the worker (refresh jobs) both need it. HTTP controllers are in AccountsHttpModule
 * (serve role only); BullMQ processors in the worker module; the login flows in login/ (AccountLoginModule).
 */
@Global()
@Module({
  imports: [BullModule.registerQueue({ name: ACCOUNTS_QUEUE }), UpstreamModule],
  providers: [
    AccountsRepository,
    {
      provide: CredentialsCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new CredentialsCipher(new KeyRing(config.encryptionKeys)),
    },
    AccountEvents,
    RefreshScheduler,
    OAuthClient,
    TokenRefreshService,
    AccountsService,
    { provide: AccountSource, useExisting: AccountsService },
    AccountsMetrics,
    ProxyHealth,
  ],
  exports: [
    AccountsRepository,
    CredentialsCipher,
    AccountEvents,
    RefreshScheduler,
    OAuthClient,
    TokenRefreshService,
    AccountsService,
    AccountSource,
    BullModule,
  ],
})
export class AccountsModule {}
