import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { UsageRepository, type UsageRow } from './usage.repository.js';

/**
 * Usage records written off the hot path: requests append to an in-memory buffer that is flushed in one
 * INSERT every second (or at 500 rows), and on shutdown, so no record is lost on a graceful stop.
 */
const FLUSH_MS = 1000;
const MAX_BUFFER = 500;

@Injectable()
export class UsageService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('usage');
  private buffer: UsageRow[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly repo: UsageRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  record(row: Omit<UsageRow, 'createdAt'>): void {
    this.buffer.push({ ...row, createdAt: new Date() });
    if (this.buffer.length >= MAX_BUFFER) void this.flush();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!this.buffer.length) return;
      const rows = this.buffer;
      this.buffer = [];
      try {
        await this.repo.insertMany(rows);
      } catch (err) {
        // Keep them for the next flush (bounded) rather than losing them.
        this.buffer = [...rows, ...this.buffer].slice(-10 * MAX_BUFFER);
        this.logger.error({ err: (err as Error).message, rows: rows.length }, 'usage flush failed');
      }
    });
    return this.flushing;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
