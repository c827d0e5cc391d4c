import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/config.schema.js';
import { ErrorEnvelopeFilter } from './common/error.filter.js';
import { PrismaModule } from './prisma/prisma.module.js';
import { RedisModule } from './redis/redis.module.js';
import { QueueModule } from './queue/queue.module.js';
import { HealthModule } from './health/health.module.js';
import { WorkerModule } from './worker/worker.module.js';
import { AccountsModule } from './accounts/accounts.module.js';
import { AccountsHttpModule } from './accounts/accounts-http.module.js';
import { AccountLoginHttpModule } from './accounts/login/login.module.js';
import { AuthModule } from './auth/auth.module.js';
import { KeysModule } from './keys/keys.module.js';
import { LimitsModule } from './limits/limits.module.js';
import { AuditModule } from './audit/audit.module.js';
import { SettingsModule } from './settings/settings.module.js';
import { UpstreamModule } from './upstream/upstream.module.js';
import { PoolModule } from './accounts/pool/pool.module.js';
import { ModelsModule } from './models/models.module.js';
import { ResponsesModule } from './responses/responses.module.js';
import { ChatModule } from './chat/chat.module.js';
import { UsageModule } from './usage/usage.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { WebAdminModule } from './web-admin/web-admin.module.js';

export type Role = 'serve' | 'worker' | 'all';

export interface AppOptions {
  config: AppConfig;
  role: Role;
}

/** Feature modules that serve HTTP (the `serve` role). Later modules add themselves here. */
const HTTP_MODULES: Type[] = [
  HealthModule,
  AuditModule,
  SettingsModule,
  AuthModule,
  KeysModule,
  LimitsModule,
  AccountLoginHttpModule,
  AccountsHttpModule,
  UpstreamModule,
  PoolModule,
  UsageModule,
  ModelsModule,
  ResponsesModule,
  ChatModule,
  WebAdminModule,
];

@Module({})
export class AppModule {
  static forRoot({ config, role }: AppOptions): DynamicModule {
    const imports: (Type | DynamicModule)[] = [
      ConfigModule.forRoot(config),
      PrismaModule,
      RedisModule,
      QueueModule,
      MetricsModule,
      AccountsModule,
    ];
    if (role === 'serve' || role === 'all') imports.push(...HTTP_MODULES);
    if (role === 'worker' || role === 'all') imports.push(WorkerModule);
    return {
      module: AppModule,
      imports,
      providers: [{ provide: APP_FILTER, useClass: ErrorEnvelopeFilter }],
    };
  }
}
