import type { LoggerService } from '@nestjs/common';

/** Connection-level failures: the dependency is away, not a bug. Reported through the outage lines only. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (Array.isArray(e?.errors) && e.errors.some(isConnectionError)) return true;
  const msg = typeof e?.message === 'string' ? e.message : '';
  return /Connection is closed|connect ETIMEDOUT|Connection terminated|ECONNREFUSED|ECONNRESET/i.test(msg);
}

function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' && e.message ? e.message.split('\n')[0] : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${s % 60} s`;
}

/**
 * The log of one dependency's outages. Many clients may fail at once (every Redis connection, BullMQ's own
 * ones, each reconnect attempt): the outage is logged once when the first one fails, and once when every
 * client that failed is back, with how long it lasted. Anything else an error event carries is logged once per
 * distinct message per minute, without a stack.
 */
export class OutageLog {
  private readonly failing = new Set<string>();
  private since: number | undefined;
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly dependency: string,
    private readonly target: string,
    private readonly setting: string,
    private readonly logger: LoggerService,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.since !== undefined;
  }

  /**
   * `client` could not reach the dependency (called again on every retry: only the first call logs). Errors that
   * do not look like connection failures are logged as client errors, unless `unreachable` says otherwise.
   */
  failed(client: string, err: unknown, unreachable = false): void {
    if (!unreachable && !isConnectionError(err) && !this.active) return this.clientError(client, err);
    this.failing.add(client);
    if (this.since !== undefined) return;
    this.since = this.now();
    this.logger.warn({
      msg: `${this.dependency} unreachable at ${this.target} (${this.setting}): ${reasonOf(err)}; retrying in the background`,
      dependency: this.dependency,
      target: this.target,
      outage: 'started',
    });
  }

  /** `client` reached the dependency again; the outage ends when every client that failed has. */
  recovered(client: string): void {
    this.failing.delete(client);
    if (this.since === undefined || this.failing.size > 0) return;
    const downMs = this.now() - this.since;
    this.since = undefined;
    this.recent.clear();
    this.logger.log({
      msg: `${this.dependency} reachable again after ${formatDuration(downMs)}`,
      dependency: this.dependency,
      target: this.target,
      outage: 'ended',
      downMs,
    });
  }

  /** `client` is gone for good (closed on shutdown): it no longer holds an outage open. */
  forget(client: string): void {
    this.failing.delete(client);
  }

  /** An error from a client built on top of ours (BullMQ): folded into the outage, else logged once a minute. */
  clientError(source: string, err: unknown): void {
    if (this.active || isConnectionError(err)) {
      this.logger.debug?.({ msg: `${this.dependency} client error`, source, err: reasonOf(err) });
      return;
    }
    const key = `${source}|${reasonOf(err)}`;
    const last = this.recent.get(key);
    const t = this.now();
    if (last !== undefined && t - last < 60_000) return;
    this.recent.set(key, t);
    this.logger.warn({ msg: `${this.dependency} client error`, source, err: reasonOf(err) });
  }
}
