import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Pool, type Dispatcher } from 'undici';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/**
 * HTTP to the Codex backend: one undici Pool with keep-alive to CODEX_BASE_URL's origin, timeouts from config
 * (connect, first byte = headersTimeout, idle between body chunks = bodyTimeout). Headers are passed as an
 * ordered list so they go out in the Codex CLI's order; undici adds only host/content-length/connection.
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const u = new URL(config.CODEX_BASE_URL);
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.pool = new Pool(u.origin, {
      connections: 64,
      keepAliveTimeout: 30_000,
      connect: { timeout: config.UPSTREAM_CONNECT_TIMEOUT_MS },
      headersTimeout: config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      bodyTimeout: config.UPSTREAM_IDLE_TIMEOUT_MS,
    });
  }

  request(
    method: 'GET' | 'POST',
    path: string,
    headers: [string, string][],
    body: string | null,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    return this.pool.request({
      method,
      path: `${this.basePath}${path}`,
      headers: headers.flat(),
      body,
      signal,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
