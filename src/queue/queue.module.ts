import { Global, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { Queue, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import { RedisService } from '../redis/redis.service.js';

/**
 * BullMQ queues and workers emit 'error' for every failed reconnect of their own connections. Without a listener
 * BullMQ falls back to console.error with the whole error object, every few seconds while Redis is away. These
 * subclasses (installed through @nestjs/bullmq's documented `queueClass`/`workerClass` hooks) listen from
 * construction and hand each error to the RedisService that made their connection, which folds it into one
 * outage line.
 */
function reporter(source: string, connection: unknown): (err: Error) => void {
  return (err) => RedisService.ownerOf(connection)?.reportClientError(source, err);
}

/**
 * BullMQ reads the server version with INFO on each new connection unless `skipVersionCheck`; @nestjs/bullmq
 * hands workers only the connection and prefix of the root options, so the flag is derived here from the
 * connection's owner (false where the start-up check found INFO refused: managed Redis).
 */
function withVersionCheck<T extends { connection?: unknown; skipVersionCheck?: boolean }>(opts: T): T {
  const owner = RedisService.ownerOf(opts?.connection);
  return owner && !owner.infoAllowed ? { ...opts, skipVersionCheck: true } : opts;
}

export class ReportingQueue extends Queue {
  constructor(name: string, opts: QueueOptions) {
    super(name, withVersionCheck(opts));
    this.on('error', reporter(`queue:${name}`, opts?.connection));
  }
}

/**
 * Also makes close() prompt (checked in test/startup.e2e-spec.ts). BullMQ 6.7 waits between retries of its main loop with `delay(runRetryDelay = 15 s)`
 * and close() aborts that wait through a controller that can already be aborted (or never set), so an idle worker
 * took ~15 s to close (measured), and Ctrl-C waited out the grace period. Every wait here also ends on close.
 */
export class ReportingWorker extends Worker {
  private readonly closeSignal = new AbortController();

  private readonly connectionOwner: () => RedisService | undefined;

  constructor(name: string, processor: string | URL | null | Processor | undefined, opts: WorkerOptions) {
    super(name, processor, withVersionCheck(opts));
    this.connectionOwner = () => RedisService.ownerOf(opts?.connection);
    this.on('error', reporter(`worker:${name}`, opts?.connection));
    ReportingWorker.live.add(this);
    this.once('closed', () => ReportingWorker.live.delete(this));
  }

  private static readonly live = new Set<ReportingWorker>();

  /**
   * Closes the workers on `owner`'s connections (one app), letting running jobs finish. Called on shutdown before Nest's module
   * destroy hooks: @nestjs/bullmq closes workers in onApplicationShutdown, after Redis and Prisma were closed in
   * onModuleDestroy, so a job running at SIGTERM (a token refresh) lost both mid-way — its lock was left to expire,
   * its next refresh was not scheduled, its account change not published.
   */
  static async closeAll(owner: RedisService): Promise<void> {
    const mine = [...ReportingWorker.live].filter((w) => w.connectionOwner() === owner);
    await Promise.all(mine.map((w) => w.close()));
  }

  override delay(milliseconds?: number, abortController?: Parameters<Worker['delay']>[1]): Promise<void> {
    const signals = [this.closeSignal.signal, abortController?.signal as AbortSignal | undefined].filter(
      (s): s is AbortSignal => !!s,
    );
    if (signals.some((s) => s.aborted)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, milliseconds ?? 0);
      for (const s of signals) s.addEventListener('abort', done);
    });
  }

  /**
   * While Redis is unreachable a normal close never ends: it waits for the blocking connection to become ready
   * before disconnecting it. No job can finish without Redis anyway, so the close is forced then (a job that was
   * running is picked up again by BullMQ's stalled-job check once Redis is back).
   */
  override close(force = false): Promise<void> {
    this.closeSignal.abort();
    return super.close(force || !!this.connectionOwner()?.unreachable);
  }
}

BullModule.queueClass = ReportingQueue;
BullModule.workerClass = ReportingWorker;

/**
 * BullMQ's root configuration: connections come from the one Redis factory (RedisService), keys live under
 * `${REDIS_KEY_PREFIX}bull`. Feature modules register their queues with `BullModule.registerQueue`;
 * processors live in the worker role only (src/worker).
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        // BullMQ requires maxRetriesPerRequest: null on connections used by workers (blocking commands).
        connection: redis.duplicate('bullmq', { maxRetriesPerRequest: null }),
        prefix: `${redis.prefix}bull`,
        // BullMQ reads the server version with INFO on every new connection; skipped where INFO is refused.
        skipVersionCheck: !redis.infoAllowed,
      }),
    }),
  ],
  exports: [BullModule],
})
export class QueueModule {}
