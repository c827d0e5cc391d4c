import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Pool, type Dispatcher } from 'undici';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EgressDispatchers, ProxyUnreachableError } from './egress-dispatchers.js';

/** Whose call it is, for its egress: the account and its own proxy URL (null: the gateway's default egress). */
export interface Egress {
  accountId: string | null;
  proxyUrl: string | null;
}

/**
 * HTTP to the Codex backend: one undici Pool with keep-alive to CODEX_BASE_URL's origin, timeouts from config
 * (connect, first byte = headersTimeout, idle between body chunks = bodyTimeout). Headers are passed as an
 * ordered list so they go out in the Codex CLI's order; undici adds only host/content-length/connection.
 *
 * Capacity: streams last minutes, so the pool opens as many connections as there are requests (no undici
 * queue). The one bound is UPSTREAM_MAX_INFLIGHT (and UPSTREAM_MAX_CONNECTIONS when set): a request beyond it is
 * refused at once with a 503 naming the limit, never parked in a queue while its first-byte timeout runs.
 * In-flight and queued counts are Prometheus gauges (cg_upstream_inflight_requests, cg_upstream_queued_requests).
 *
 * Egress (issue 25 item 1): a call that names its account goes through that account's dispatcher
 * (egress-dispatchers.ts: its own proxy, else HTTPS_PROXY/HTTP_PROXY, else this direct pool). A call that fails
 * because the account's own proxy is dead or refusing throws ProxyUnreachableError (the account is marked).
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly limit: number;
  private inflight = 0;
  private readonly release = () => {
    this.inflight--;
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly egress: EgressDispatchers,
  ) {
    const u = new URL(config.CODEX_BASE_URL);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    const maxConnections = config.UPSTREAM_MAX_CONNECTIONS || null;
    this.limit = Math.min(config.UPSTREAM_MAX_INFLIGHT, maxConnections ?? Infinity);
    this.pool = new Pool(u.origin, {
      connections: maxConnections,
      keepAliveTimeout: 30_000,
      connect: { timeout: config.UPSTREAM_CONNECT_TIMEOUT_MS },
      headersTimeout: config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      bodyTimeout: config.UPSTREAM_IDLE_TIMEOUT_MS,
    });
    metrics.upstreamState = () => ({ inflight: this.inflight, queued: this.pool.stats.queued });
  }

  /**
   * One upstream call. Counts as in flight until its body is consumed or destroyed. Throws a 503
   * (`upstream_capacity`) without sending anything when UPSTREAM_MAX_INFLIGHT calls are already open.
   */
  async request(
    method: 'GET' | 'POST',
    path: string,
    headers: [string, string][],
    body: string | null,
    signal?: AbortSignal,
    via?: Egress,
  ): Promise<Dispatcher.ResponseData> {
    if (this.inflight >= this.limit) {
      this.metrics.upstreamRejected.inc();
      throw ApiError.unavailable(
        `The gateway is at its upstream capacity (${this.limit} concurrent upstream requests); retry shortly.`,
        'upstream_capacity',
        { 'retry-after': '1' },
      );
    }
    this.inflight++;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.send(
        { method, path: `${this.basePath}${path}`, headers: headers.flat(), body, signal },
        via,
      );
    } catch (err) {
      this.inflight--;
      throw err;
    }
    res.body.once('close', this.release);
    return res;
  }

  /**
   * The usage endpoint's path on the backend's origin: `{chatgpt base}/wham/usage`, where the chatgpt base is
   * CODEX_BASE_URL without its `/codex` (…/backend-api); a base without `/backend-api` uses `{base}/api/codex/usage`
   * (fact sheet §9.3, the CLI's PathStyle).
   */
  get usagePath(): string {
    const i = this.basePath.indexOf('/backend-api');
    return i >= 0
      ? `${this.basePath.slice(0, i)}/backend-api/wham/usage`
      : `${this.basePath.replace(/\/codex$/, '')}/api/codex/usage`;
  }

  /** GET of an absolute path on the backend's origin (the usage endpoint), with a whole-request timeout. */
  async getAbsolute(
    path: string,
    headers: [string, string][],
    timeoutMs: number,
    via?: Egress,
  ): Promise<{ status: number; body: unknown }> {
    const res = await this.send(
      { method: 'GET', path, headers: headers.flat(), signal: AbortSignal.timeout(timeoutMs) },
      via,
    );
    const text = await res.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: res.statusCode, body };
  }

  /** One request on the account's dispatcher (or the direct pool); a dead own proxy becomes ProxyUnreachableError. */
  private async send(
    opts: Omit<Dispatcher.RequestOptions, 'origin'>,
    via: Egress | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const dispatcher = via ? this.egress.forAccount(via.accountId, via.proxyUrl) : null;
    if (!dispatcher) return this.pool.request(opts);
    try {
      return await dispatcher.request({ ...opts, origin: this.origin });
    } catch (err) {
      if ((opts.signal as AbortSignal | undefined)?.aborted) throw err; // the caller gave up: says nothing about the proxy
      const down = via ? await this.egress.diagnose(via.accountId, via.proxyUrl, err) : null;
      if (down) throw new ProxyUnreachableError(down);
      throw err;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
