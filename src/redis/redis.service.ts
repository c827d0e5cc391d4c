import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { OutageLog } from '../common/outage.js';
import { describeRedis, redisConnectionOptions } from '../config/redis-connection.js';

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
  private readonly outage: OutageLog;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const setting = config.REDIS_SENTINELS ? 'REDIS_SENTINELS' : 'REDIS_URL';
    this.outage = new OutageLog('redis', describeRedis(config), setting, this.logger);
    // Auto-pipelining: the commands every request issues in one tick (and those of concurrent requests) leave in
    // one write instead of one syscall each (measured with strace in docs/bench.md). BullMQ has its own connection.
    this.client = this.create('main', { enableAutoPipelining: true });
    // Once connected, a lost connection fails the shared connection's commands at once instead of queueing them
    // until ioredis gives up (every maxRetriesPerRequest+1 reconnect attempts, up to ~6 s apart): a request must
    // not wait on a Redis that is away, nor wait once per Redis call it makes (a fail-open call followed by a
    // required one doubled the wait). Before the first connection commands still queue, so start-up is unchanged.
    this.client.once('ready', () => {
      this.client.options.enableOfflineQueue = false;
    });
  }

  /** True while at least one of our connections is failing to reach Redis. */
  get unreachable(): boolean {
    return this.outage.active;
  }

  /** False when the server refuses INFO: BullMQ's version check (an INFO) is skipped then. */
  get infoAllowed(): boolean {
    return this.config.redisInfoAllowed !== false;
  }

  /** Prefix of all keys; BullMQ uses `${prefix}bull`. */
  get prefix(): string {
    return this.config.REDIS_KEY_PREFIX;
  }

  key(...parts: (string | number)[]): string {
    return this.prefix + parts.join(':');
  }

  static options(extra: RedisOptions = {}, infoAllowed = true): RedisOptions {
    return {
      // ioredis' ready check is an INFO (is the server still loading?); a server that refuses INFO skips it.
      enableReadyCheck: infoAllowed,
      // Commands fail fast while Redis is down instead of queueing forever (readiness must see it).
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      ...extra,
    };
  }

  create(name: string, extra: RedisOptions = {}): Redis {
    // Sentinel, TLS and ACL settings come from one place (src/config/redis-connection.ts), for every connection alike.
    const conn = new Redis({
      ...redisConnectionOptions(this.config),
      ...RedisService.options(
        { connectionName: `codex-gateway:${name}`, ...extra },
        this.config.redisInfoAllowed !== false,
      ),
    });
    RedisService.owners.set(conn, this);
    // ioredis reconnects on its own; an outage is logged once when it starts and once when it ends.
    conn.on('error', (err) => this.outage.failed(name, err));
    conn.on('ready', () => this.outage.recovered(name));
    conn.on('end', () => this.outage.forget(name));
    return conn;
  }

  /**
   * For clients built on our connections that emit their own 'error' events (BullMQ queues and workers): the
   * error is folded into the outage log instead of reaching Node's "unhandled error" path or the console.
   */
  reportClientError(source: string, err: Error): void {
    this.outage.clientError(source, err);
  }

  /** The service that made a connection (BullMQ gets our connections and reports its errors back here). */
  static ownerOf(conn: unknown): RedisService | undefined {
    return conn && typeof conn === 'object' ? RedisService.owners.get(conn as Redis) : undefined;
  }

  private static readonly owners = new WeakMap<Redis, RedisService>();

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
