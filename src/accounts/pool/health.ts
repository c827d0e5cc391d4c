import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { Gauge } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';
import { accountLabel } from './account-label.js';

/**
 * Circuit breaking per account (per process): after FAILURES_TO_OPEN consecutive upstream failures (network
 * errors, timeouts, 5xx, streams that break) an account is skipped for a while; when that time is over one
 * request probes it (half-open): success closes the circuit, failure opens it again for twice as long (capped).
 * Skipped accounts are still used when nothing else is left, so a breaker never turns a degraded pool into none.
 * Usage limits and 401s are handled elsewhere (cooldown, refresh) and do not count here.
 */
export const FAILURES_TO_OPEN = 3;
export const OPEN_MAX_MS = 5 * 60_000;
/** The score's health part reads the outcomes of this long (accounts/pool/score.ts). */
export const HEALTH_WINDOW_MS = 5 * 60_000;
/** At most this many recent outcomes are kept per account. */
const HEALTH_KEPT = 20;
/** A share is taken over at least this many outcomes: one failure of one request is not "always failing". */
const HEALTH_MIN_OUTCOMES = 4;
/** A probe that never reported back (its client went away) stops blocking the account after this. */
const PROBE_STALE_MS = 60_000;

interface State {
  failures: number;
  openUntil: number;
  openMs: number;
  probing: number;
  label: string;
}

@Injectable()
export class AccountHealth {
  private readonly states = new Map<string, State>();
  /** Recent outcomes per account (time, ok), oldest first. */
  private readonly recent = new Map<string, { at: number; ok: boolean }[]>();
  private readonly open: Gauge<string>;
  private readonly baseMs: number;

  constructor(metrics: MetricsService, @Inject(APP_CONFIG) config: AppConfig) {
    this.baseMs = config.POOL_CIRCUIT_OPEN_SECONDS * 1000;
    this.open = new Gauge({
      name: 'cg_account_circuit_open',
      help: 'Accounts skipped by circuit breaking after consecutive upstream failures (1 = open)',
      labelNames: ['account'],
      registers: [metrics.registry],
    });
  }

  private state(id: string, label = id): State {
    let s = this.states.get(id);
    if (!s) {
      // The gauge's label: never an email (issue 22, item 6).
      s = { failures: 0, openUntil: 0, openMs: 0, probing: 0, label: accountLabel({ id, label }) };
      this.states.set(id, s);
    }
    return s;
  }

  /** Account ids to skip now. An account whose open time is over is let through once (the probe). */
  skipped(now = Date.now()): Set<string> {
    const out = new Set<string>();
    for (const [id, s] of this.states) {
      if (s.openUntil === 0) continue;
      if (now < s.openUntil || this.probing(s, now)) out.add(id);
    }
    return out;
  }

  /** Called when an account is chosen: marks a half-open account as being probed. */
  chosen(id: string, now = Date.now()): void {
    const s = this.states.get(id);
    if (s && s.openUntil !== 0 && now >= s.openUntil && !this.probing(s, now)) s.probing = now;
  }

  private probing(s: State, now: number): boolean {
    return s.probing !== 0 && now - s.probing < PROBE_STALE_MS;
  }

  private note(id: string, ok: boolean, now: number): void {
    const list = this.recent.get(id) ?? [];
    list.push({ at: now, ok });
    while (list.length > HEALTH_KEPT || (list.length && list[0].at < now - HEALTH_WINDOW_MS)) list.shift();
    this.recent.set(id, list);
  }

  /**
   * The recent failure share of an account for the routing score: 1 while its circuit is open, else failures ÷
   * outcomes of the last HEALTH_WINDOW_MS (at least HEALTH_MIN_OUTCOMES counted), 0 without any failure.
   */
  failureShare(id: string, now = Date.now()): number {
    if (this.isOpen(id, now)) return 1;
    const list = (this.recent.get(id) ?? []).filter((o) => o.at >= now - HEALTH_WINDOW_MS);
    const failed = list.filter((o) => !o.ok).length;
    return failed ? failed / Math.max(HEALTH_MIN_OUTCOMES, list.length) : 0;
  }

  success(id: string, now = Date.now()): void {
    this.note(id, true, now);
    const s = this.states.get(id);
    if (!s) return;
    if (s.openUntil !== 0) this.open.set({ account: s.label }, 0);
    this.states.delete(id);
  }

  failure(id: string, label?: string, now = Date.now()): void {
    this.note(id, false, now);
    const s = this.state(id, label);
    s.failures++;
    if (s.probing || (s.openUntil === 0 && s.failures >= FAILURES_TO_OPEN)) {
      s.openMs = s.openMs ? Math.min(s.openMs * 2, OPEN_MAX_MS) : this.baseMs;
      s.openUntil = now + s.openMs;
      s.probing = 0;
      this.open.set({ account: s.label }, 1);
    }
  }

  isOpen(id: string, now = Date.now()): boolean {
    const s = this.states.get(id);
    return !!s && s.openUntil !== 0 && (now < s.openUntil || this.probing(s, now));
  }
}
