import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '../redis/redis.service.js';

/**
 * "An account changed" across processes: Redis pub/sub on `${prefix}accounts:changed`. Every writer publishes the
 * account id (or `*`); every process drops its in-memory copies (routable list, credentials) on a message.
 * The message carries no data, so nothing secret crosses Redis.
 */
export type AccountChangeListener = (accountId: string | null) => void;

@Injectable()
export class AccountEvents implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('accounts');
  private sub: Redis | null = null;
  private readonly listeners: AccountChangeListener[] = [];

  constructor(private readonly redis: RedisService) {}

  get channel(): string {
    return this.redis.key('accounts', 'changed');
  }

  async onModuleInit(): Promise<void> {
    this.sub = this.redis.duplicate('accounts-sub', { maxRetriesPerRequest: null });
    this.sub.on('message', (_channel: string, message: string) =>
      this.emitLocal(message === '*' ? null : message),
    );
    // Re-subscribing after a reconnect is done by ioredis (autoResubscribe); invalidate everything then, since
    // messages may have been missed while disconnected.
    this.sub.on('ready', () => this.emitLocal(null));
    // Not awaited: with Redis down at start the subscription waits in ioredis' offline queue (no retry limit on
    // this connection) instead of failing or hanging the app's start; /readyz reports Redis meanwhile.
    void this.sub
      .subscribe(this.channel)
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'subscribe failed'));
  }

  async onModuleDestroy(): Promise<void> {
    this.listeners.length = 0;
  }

  onChange(listener: AccountChangeListener): void {
    this.listeners.push(listener);
  }

  private emitLocal(accountId: string | null): void {
    for (const l of this.listeners) {
      try {
        l(accountId);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'account change listener failed');
      }
    }
  }

  /** Tells every process (this one synchronously) that an account changed. */
  async publish(accountId: string | null): Promise<void> {
    this.emitLocal(accountId);
    try {
      await this.redis.client.publish(this.channel, accountId ?? '*');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not publish account change');
    }
  }
}
