import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { Tracing, tracingSettings } from './tracing.js';

/** The app's Tracing as a provider; spans still buffered are sent when the app closes. */
@Injectable()
export class TracingService extends Tracing implements OnApplicationShutdown {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(tracingSettings(config));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }
}

@Global()
@Module({ providers: [TracingService], exports: [TracingService] })
export class TelemetryModule {}
