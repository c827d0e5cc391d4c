import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

/**
 * The one place Redis connections are made. `client` is the shared command connection of the process;
 * `duplicate(name)` makes a dedicated connection (pub/sub subscribers, BullMQ workers need their own) that is
 * closed with the module. Every key the gateway writes goes through `key()` so one prefix scopes a deployment.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  private readonly logger = new Logger('redis');
  readonly client: Redis;
  private readonly extra: Redis[] = [];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.client = this.create('main');
  }

  /** Prefix of all keys; BullMQ uses `${prefix}bull`. */
  get prefix(): string {
    return this.config.REDIS_KEY_PREFIX;
  }

  key(...parts: (string | number)[]): string {
    return this.prefix + parts.join(':');
  }

  static options(extra: RedisOptions = {}): RedisOptions {
    return {
      // Commands fail fast while Redis is down instead of queueing forever (readiness must see it).
      maxRetriesPerRequest: 2,
      enableReadyCheck: true,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      ...extra,
    };
  }

  create(name: string, extra: RedisOptions = {}): Redis {
    const conn = new Redis(
      this.config.REDIS_URL,
      RedisService.options({ connectionName: `codex-gateway:${name}`, ...extra }),
    );
    let lastErr = '';
    conn.on('error', (err) => {
      // Log each distinct error once per outage; ioredis retries on its own.
      if (err.message !== lastErr)
        this.logger.warn({ conn: name, err: err.message }, 'redis connection error');
      lastErr = err.message;
    });
    conn.on('ready', () => {
      lastErr = '';
    });
    return conn;
  }

  /** A dedicated connection owned by this service (closed on shutdown). */
  duplicate(name: string, extra: RedisOptions = {}): Redis {
    const conn = this.create(name, extra);
    this.extra.push(conn);
    return conn;
  }

  async ping(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    // quit() waits for the server; a connection that is not ready (Redis down) is dropped at once instead.
    await Promise.all(
      [this.client, ...this.extra].map((c) =>
        c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : Promise.resolve(c.disconnect()),
      ),
    );
  }
}
