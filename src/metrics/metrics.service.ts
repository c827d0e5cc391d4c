import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { CacheMetrics } from './cache-metrics.js';
import { SafetyMetrics } from './safety-metrics.js';

/**
 * Prometheus series of one app instance (own Registry, not prom-client's global one: tests run several apps in a
 * process). Labels are bounded: endpoint, model, status, error class, account label — never a key or a token;
 * key/user labels only with METRICS_PER_KEY_LABELS.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly requests: Counter<string>;
  readonly duration: Histogram<string>;
  readonly ttft: Histogram<string>;
  readonly tokens: Counter<string>;
  readonly upstreamErrors: Counter<string>;
  readonly failovers: Counter<string>;
  readonly conversationMoves: Counter<string>;
  readonly portableRewrites: Counter<string>;
  readonly headerHold: Histogram<string>;
  readonly inflight: Gauge<string>;
  readonly accountUsed: Gauge<string>;
  readonly accountCooldown: Gauge<string>;
  readonly refreshes: Counter<string>;
  readonly upstreamRejected: Counter<string>;
  /** Prompt-cache health: cached vs uncached input tokens, accounts per conversation. */
  readonly cache: CacheMetrics;
  /** Policy refusals, key suspensions, model downgrades. */
  readonly safety: SafetyMetrics;
  /** Read at scrape time (set by the upstream client): open upstream requests and undici's queue. */
  upstreamState: () => { inflight: number; queued: number } = () => ({ inflight: 0, queued: 0 });
  readonly perKey: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.perKey = config.METRICS_PER_KEY_LABELS;
    const r = [this.registry];
    const keyLabels = this.perKey ? ['key_id', 'user_id'] : [];
    collectDefaultMetrics({ register: this.registry, prefix: 'cg_' });
    this.requests = new Counter({
      name: 'cg_requests_total',
      help: 'API requests by endpoint, model and HTTP status',
      labelNames: ['endpoint', 'model', 'status', ...keyLabels],
      registers: r,
    });
    this.duration = new Histogram({
      name: 'cg_request_duration_seconds',
      help: 'Whole request duration (streams: until the last byte)',
      labelNames: ['endpoint'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: r,
    });
    this.ttft = new Histogram({
      name: 'cg_time_to_first_token_seconds',
      help: 'Time until the first upstream event reached the gateway',
      labelNames: ['endpoint'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    });
    this.tokens = new Counter({
      name: 'cg_tokens_total',
      help: 'Tokens by kind and model',
      labelNames: ['kind', 'model'],
      registers: r,
    });
    this.upstreamErrors = new Counter({
      name: 'cg_upstream_errors_total',
      help: 'Upstream failures by class',
      labelNames: ['class'],
      registers: r,
    });
    this.failovers = new Counter({
      name: 'cg_failovers_total',
      help: 'Requests retried on another account',
      registers: r,
    });
    this.conversationMoves = new Counter({
      name: 'cg_conversation_moves_total',
      help: 'Requests whose account-bound input items had to be rewritten (moved = minted by another account; refused = the upstream refused them)',
      labelNames: ['reason'],
      registers: r,
    });
    this.portableRewrites = new Counter({
      name: 'cg_portable_rewrites_total',
      help: 'Account-bound input items rewritten for another account, by what became of them',
      labelNames: ['reason'],
      registers: r,
    });
    this.headerHold = new Histogram({
      name: 'cg_header_hold_seconds',
      help: 'Time the client headers were held after the upstream answered, until its first output event',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.inflight = new Gauge({
      name: 'cg_inflight_streams',
      help: 'Upstream streams open now',
      registers: r,
    });
    this.accountUsed = new Gauge({
      name: 'cg_account_usage_limit_used_percent',
      help: 'Latest usage-limit snapshot per account (highest window)',
      labelNames: ['account'],
      registers: r,
    });
    this.accountCooldown = new Gauge({
      name: 'cg_account_cooldown_seconds',
      help: 'Seconds until a cooling-down account may be used again (0 = available)',
      labelNames: ['account'],
      registers: r,
    });
    this.refreshes = new Counter({
      name: 'cg_token_refresh_total',
      help: 'Token refreshes by outcome',
      labelNames: ['outcome'],
      registers: r,
    });
    this.upstreamRejected = this.capacityMetrics(r);
    this.cache = new CacheMetrics(r);
    this.safety = new SafetyMetrics(r);
  }

  /** Capacity: upstream requests in flight, queued (should stay 0) and refused at the bound. */
  private capacityMetrics(r: Registry[]): Counter<string> {
    const state = () => this.upstreamState();
    new Gauge({
      name: 'cg_upstream_inflight_requests',
      help: 'Upstream requests open now (streams included)',
      registers: r,
      collect() {
        this.set(state().inflight);
      },
    });
    new Gauge({
      name: 'cg_upstream_queued_requests',
      help: 'Upstream requests waiting for a connection (0 unless UPSTREAM_MAX_CONNECTIONS is set)',
      registers: r,
      collect() {
        this.set(state().queued);
      },
    });
    return new Counter({
      name: 'cg_upstream_capacity_rejections_total',
      help: 'Requests refused with 503 because UPSTREAM_MAX_INFLIGHT upstream requests were open',
      registers: r,
    });
  }

  keyLabels(keyId: string | null, userId: string | null): Record<string, string> {
    return this.perKey ? { key_id: keyId ?? '', user_id: userId ?? '' } : {};
  }
}
