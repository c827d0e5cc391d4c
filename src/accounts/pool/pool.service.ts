import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import { RedisService } from '../../redis/redis.service.js';
import { AccountSource, type PoolAccount } from '../account-source.js';
import { chooseAccount, type Candidate, type PoolStrategy } from './pool-choice.js';
import { accountLabel } from './account-label.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { explainScore, scoreAccounts } from './score.js';
import { UsageStore, type UsageReport } from './usage-store.js';
import { PoolLeases } from './leases.js';
import { withPending } from './pending.js';
import { TurnCosts, type ServedTokens } from './turn-cost.js';
import { RESET_GRACE_MS, type UsageState } from './usage-state.js';
import { forecastPool, type WindowForecast } from './forecast.js';
import { Counter } from 'prom-client';
import { moveReason, unsureOfLimit, type MoveReason } from './moves.js';
import { parseCooldown, soonestBack } from './cooldown.js';
import { UsageProbe } from './usage-probe.js';
import { AccountHealth } from './health.js';

/**
 * Pool state shared by every replica through Redis: per-account cooldown (until the reset time the upstream gave),
 * in-flight leases per process (leases.ts), the usage state per account (usage-store.ts: windows by length, fed by
 * the poller and every answer's headers), latest used-percent, and stickiness of a conversation to its account.
 * The owner's reserve and the concurrency cap (score.ts hard rules) apply whatever the strategy.
 */
/** How long an unchanged used-percent is not written again (per account, per process). */
const USED_REWRITE_MS = 5000;

/**
 * A request nothing can serve NOW but an account can serve within this long (a window whose reported reset time
 * is seconds away — it comes in whole seconds, plus RESET_GRACE_MS — or an account with headroom at its
 * maxConcurrent cap) is held and picked again, instead of refusing while that account has headroom. Found by the
 * pool e2e (test/pool-team.e2e-spec.ts): a team starved at once got 429s in the 2–3 s between a real reset and
 * the gateway taking the account back, and while the only account with headroom was at its cap.
 */
export const POOL_HOLD_MS = 5000;
/** A pick whose request has not begun after this long (refused upstream, failed over) no longer counts as pending. */
const PICKED_MS = 10_000;
/** How often a held request looks again (a freed slot shows at once; a reset at its time). */
const HOLD_STEP_MS = 100;
/** An account whose estimate is unsure is read again (wham/usage) at most this often per process. */
export const PROBE_EVERY_MS = 1000;
/** Routing waits at most this long for such a read. */
const PROBE_TIMEOUT_MS = 2000;
/**
 * A sticky account read again and still out only by the streams it runs (their cost is estimated) is waited for
 * this long before its conversation moves off its cache: they end within a moment and the next read tells.
 */
export const STICKY_WAIT_MS = 1500;

/** The pool's clock (epoch ms). Injectable so the simulator and tests can run scaled time; default Date.now. */
export const POOL_CLOCK = Symbol('POOL_CLOCK');
export type PoolClock = () => number;

@Injectable()
export class PoolService implements OnModuleDestroy {
  private readonly logger = new Logger('pool');
  private readonly usedWritten = new Map<string, { percent: number; at: number }>();
  readonly usage: UsageStore;
  readonly leases: PoolLeases;
  private readonly leased = new Set<string>();
  /** The score's debug line is built only when it is written (it formats every candidate's parts). */
  private readonly explain: boolean;
  /**
   * Accounts this process picked whose request has not begun yet (pick time per pick): picks made at the same
   * moment cannot see each other's begin(), so they count as pending too (pending.ts) for up to PICKED_MS.
   */
  private readonly picked = new Map<string, number[]>();
  /**
   * Per picked account object (each pick returns a new one, carried by its attempt to every report it brings):
   * the account's ended-request counter when it was picked. A report written for that request shows the requests
   * ended by then, not those that ended while its answer was on its way (pending.ts).
   */
  private readonly endedAtPick = new WeakMap<object, number>();
  /** Picked account objects that are their conversation's sticky account (its prompt cache is there). */
  private readonly stayedAtPick = new WeakSet<object>();
  /** This process's turn-cost estimator (turn-cost.ts): what begin() counts a request at. */
  readonly costs = new TurnCosts();
  private readonly probedAt = new Map<string, number>();
  private readonly moveCounter: Counter<string>;
  /** Moves by reason in this process (tests and the pool e2e read it; the metric is the operators' view). */
  readonly moves = new Map<MoveReason, number>();
  /** The last picks (time, account, the used % routing read per window, reported and with pending): for tests. */
  readonly recentPicks: { at: number; id: string; read: (number | null)[]; reported: (number | null)[] }[] =
    [];
  constructor(
    private readonly accounts: AccountSource,
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @Optional() @Inject(POOL_CLOCK) private readonly clock: PoolClock = Date.now,
    @Optional() private readonly probe?: UsageProbe,
    @Optional() private readonly health?: AccountHealth,
  ) {
    this.moveCounter = new Counter({
      name: 'cg_pool_conversation_moves_total',
      help: 'Conversations routed away from their sticky account (its prompt cache), by reason (accounts/pool/moves.ts)',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
    this.usage = new UsageStore(redis);
    this.leases = new PoolLeases(redis);
    this.explain = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace';
  }

  async onModuleDestroy(): Promise<void> {
    await this.leases.close([...this.leased]);
  }

  private k(...p: string[]) {
    return this.redis.key('pool', ...p);
  }

  /**
   * Picks an account for one attempt, excluding those already tried. Throws 429 (all cooling down, Retry-After =
   * soonest reset) or 503 (none healthy) when nothing can serve.
   */
  async pick(
    stickyKey: string | null,
    tried: Set<string>,
    preferredId?: string | null,
    holdUntil?: number,
    probed = false,
  ): Promise<PoolAccount> {
    const all = await this.accounts.listRoutable();
    if (all.length === 0) {
      throw ApiError.unavailable(
        'No subscription account is available: none is enabled and healthy.',
        'no_accounts',
      );
    }
    const ids = all.map((a) => a.id);
    const r = this.redis.client;
    // One MGET for cooldown and used % per account (and the sticky account); usage states and leases beside it,
    // all auto-pipelined into one round trip.
    const keys: string[] = [];
    for (const id of ids)
      keys.push(this.k('cooldown', id), this.k('used', id), this.usage.begunKey(id), this.usage.endedKey(id));
    if (stickyKey) keys.push(this.k('sticky', stickyKey));
    const [values, usage, inFlight, counter] = await Promise.all([
      r.mget(...keys),
      this.usage.getMany(ids),
      this.leases.inFlight(ids),
      this.config.POOL_STRATEGY === 'round-robin' ? r.incr(this.k('rr')) : Promise.resolve(0),
    ]);
    const sticky = stickyKey ? values[4 * ids.length] : null;
    const now = this.clock();
    const candidates: Candidate[] = [];
    const endedOf = new Map<string, number>();
    let soonestCooling = Infinity;
    all.forEach((a, i) => {
      if (tried.has(a.id)) return;
      const cool = parseCooldown(values[4 * i]);
      const used = values[4 * i + 1];
      const begun = values[4 * i + 2];
      endedOf.set(a.id, Number(values[4 * i + 3] ?? 0));
      // Routing reads each window with the requests its report does not show yet (pending.ts).
      const reported = usage.get(a.id) ?? null;
      const state =
        reported && withPending(reported, (begun === null ? 0 : Number(begun)) + this.pickedCount(a.id, now));
      // Without a usage state no report can show an early reset: a cooling account stays out until its end.
      if (!state && cool && cool.until > now) {
        soonestCooling = Math.min(soonestCooling, cool.until);
        return;
      }
      candidates.push({
        ...a,
        inFlight: inFlight.get(a.id) ?? 0,
        usedPercent: used === null ? null : Number(used),
        usage: state,
        reservePercent: a.reservePercent ?? 0,
        maxConcurrent: a.maxConcurrent ?? null,
        cooldown: cool && cool.until > now ? cool : null,
        failureRate: this.health?.failureShare(a.id, now) ?? 0,
      });
    });
    const stickyId = preferredId ?? sticky;
    const strategy = this.config.POOL_STRATEGY as PoolStrategy;
    // The score's hard rules (limit, reserve, cap, cooldown unless an early reset shows) decide who may serve.
    const scored = scoreAccounts(candidates, {
      now,
      stickyId,
      nextTurnTokens: this.costs.meanTurn() ?? undefined,
    });
    let chosen: Candidate | null;
    if (strategy === 'score') {
      chosen = scored.chosen;
      if (this.explain) this.logger.debug(explainScore(scored));
    } else {
      const out = new Set(scored.excluded.map((e) => e.id));
      chosen = chooseAccount(
        candidates.filter((c) => !out.has(c.id)),
        strategy,
        { stickyId, counter, now },
      );
    }
    // Left out only by the estimate of what its last report misses: read the account again rather than guess,
    // before refusing or moving a conversation off its cache (at most every PROBE_EVERY_MS per account).
    const unsure = scored.excluded.filter(
      (e) =>
        (!chosen || e.id === stickyId) &&
        unsureOfLimit(
          usage.get(e.id),
          e.reason,
          now,
          candidates.find((c) => c.id === e.id)?.reservePercent ?? 0,
        ),
    );
    if (
      unsure.length &&
      !probed &&
      (await this.probeAll(
        unsure.map((e) => e.id),
        all,
      ))
    )
      return this.pick(stickyKey, tried, preferredId, holdUntil, true);
    if (chosen && stickyId && chosen.id !== stickyId && this.clock === Date.now) {
      const until = holdUntil ?? now + STICKY_WAIT_MS;
      if (unsure.some((e) => e.id === stickyId) && now < until) {
        await new Promise((r) => setTimeout(r, Math.min(until - now, HOLD_STEP_MS * (1 + Math.random()))));
        return this.pick(stickyKey, tried, preferredId, until);
      }
    }
    if (chosen && stickyId && chosen.id !== stickyId) this.noteMove(moveReason(stickyId, tried, scored));
    if (chosen) {
      this.notePicked(chosen.id, now);
      this.endedAtPick.set(chosen, endedOf.get(chosen.id) ?? 0);
      if (stickyId && chosen.id === stickyId) this.stayedAtPick.add(chosen);
      const rep = usage.get(chosen.id);
      this.recentPicks.push({
        at: now,
        id: chosen.id,
        read: [chosen.usage?.short?.usedPercent ?? null, chosen.usage?.weekly?.usedPercent ?? null],
        reported: [rep?.short?.usedPercent ?? null, rep?.weekly?.usedPercent ?? null],
      });
      if (this.recentPicks.length > 1000) this.recentPicks.shift();
      return chosen;
    }
    const back = soonestBack(candidates, scored.excluded, now);
    const soonest = soonestCooling === Infinity ? back : Math.min(back ?? Infinity, soonestCooling);
    // Held only in real time: the simulator's injected clock never sleeps (its requests are refused at once).
    // A capped account with headroom frees a slot soon; an unsure one is read again after its streams end.
    const capped = scored.excluded.some((e) => e.reason === 'max_concurrent');
    const busy = capped || unsure.length > 0;
    const deadline = holdUntil ?? now + POOL_HOLD_MS;
    const returns = busy ? now : (soonest ?? Infinity) + RESET_GRACE_MS;
    if (this.clock === Date.now && returns <= deadline && now < deadline) {
      // Jittered, so requests held together do not all wake at once and pick the same account.
      const step = Math.min(deadline - now, Math.max(HOLD_STEP_MS, returns - now) * (0.5 + Math.random()));
      await new Promise((r) => setTimeout(r, step));
      return this.pick(stickyKey, tried, preferredId, deadline);
    }
    if (capped && tried.size === 0)
      throw ApiError.unavailable(
        'Every subscription account with headroom is at its concurrency cap (maxConcurrent); try again shortly.',
        'accounts_busy',
        { 'retry-after': '1' },
      );
    if (soonest !== null && tried.size === 0) {
      const secs = Math.max(1, Math.ceil((soonest - now) / 1000));
      throw ApiError.rateLimited(
        `Every subscription account has reached its usage limit or its owner's reserve; the first resets in ${secs} s.`,
        secs,
        'usage_limit_reached',
      );
    }
    throw ApiError.unavailable('No subscription account could serve the request.', 'no_healthy_account');
  }

  /** Reads the accounts' windows now (wham/usage); true when at least one read was applied. */
  private async probeAll(ids: string[], all: PoolAccount[]): Promise<boolean> {
    if (!this.probe) return false;
    const now = this.clock();
    const due = ids.filter((id) => now - (this.probedAt.get(id) ?? 0) >= PROBE_EVERY_MS);
    const results = await Promise.all(
      due.map(async (id) => {
        this.probedAt.set(id, now);
        const account = all.find((a) => a.id === id)!;
        try {
          const endedBefore = await this.endedCount(id);
          const r = await this.probe!.read(account, PROBE_TIMEOUT_MS);
          if (!r.report) return false;
          await this.recordUsage(account, r.report, r.readAt, endedBefore);
          return true;
        } catch {
          return false; // a failed read changes nothing (the poller's rule)
        }
      }),
    );
    return results.some(Boolean);
  }

  private noteMove(reason: MoveReason): void {
    this.moves.set(reason, (this.moves.get(reason) ?? 0) + 1);
    this.moveCounter.inc({ reason });
  }

  private pickedCount(id: string, now: number): number {
    const list = this.picked.get(id);
    if (!list) return 0;
    while (list.length && list[0] < now - PICKED_MS) list.shift();
    return list.length;
  }

  private notePicked(id: string, now: number): void {
    const list = this.picked.get(id) ?? [];
    list.push(now);
    this.picked.set(id, list);
  }

  async stick(stickyKey: string | null, accountId: string): Promise<void> {
    if (!stickyKey) return;
    await this.redis.client.set(
      this.k('sticky', stickyKey),
      accountId,
      'EX',
      Math.max(1, this.config.POOL_STICKY_TTL_SECONDS),
    );
  }

  /** The account that issued a Codex turn state (`x-codex-turn-state`): the rest of the turn goes there. */
  async turnAccount(turnState: string): Promise<string | null> {
    return this.redis.client.get(this.k('turn', turnKey(turnState))).catch(() => null);
  }

  async stickTurn(turnState: string, accountId: string): Promise<void> {
    const ttl = Math.max(1, this.config.POOL_STICKY_TTL_SECONDS);
    await this.redis.client.set(this.k('turn', turnKey(turnState)), accountId, 'EX', ttl);
  }

  async coolDown(account: PoolAccount, untilMs: number | null): Promise<number> {
    const accountId = account.id;
    const now = this.clock();
    const until = untilMs && untilMs > now ? untilMs : now + this.config.POOL_DEFAULT_COOLDOWN_SECONDS * 1000;
    await this.redis.client.set(
      this.k('cooldown', accountId),
      `${until}:${now}`,
      'PX',
      Math.max(1, until - now),
    );
    const gauge = this.metrics.accountCooldown.labels({ account: accountLabel(account) });
    gauge.set(Math.ceil((until - now) / 1000));
    // Back to 0 once the reset time passed (the gauge is per process; good enough for dashboards).
    setTimeout(() => gauge.set(0), Math.max(0, until - now)).unref();
    return until;
  }

  async cooldownUntil(accountId: string): Promise<number | null> {
    return parseCooldown(await this.redis.client.get(this.k('cooldown', accountId)))?.until ?? null;
  }

  /**
   * A usage report (poll, answer headers, stream event) read at `asOf`: into the shared usage state, and the
   * legacy single used-% figure (the highest window) for the metrics and the non-score strategies.
   */
  async recordUsage(
    account: PoolAccount,
    report: UsageReport,
    asOf = this.clock(),
    endedBefore: number | null = this.endedAtPick.get(account) ?? null,
  ): Promise<UsageState> {
    const state = await this.usage.apply(account.id, account.planType, report, asOf, endedBefore);
    const percents = report.windows.map((w) => w.usedPercent);
    if (percents.length) await this.setUsedPercent(account, Math.max(...percents));
    return state;
  }

  /**
   * Stores an account's latest used-percent. Every response reports it (headers and the codex.rate_limits
   * event); an unchanged value is written at most every few seconds per process, not twice per request.
   */
  async setUsedPercent(account: PoolAccount, percent: number): Promise<void> {
    const now = this.clock();
    const last = this.usedWritten.get(account.id);
    if (last && last.percent === percent && now - last.at < USED_REWRITE_MS) return;
    this.usedWritten.set(account.id, { percent, at: now });
    this.metrics.accountUsed.set({ account: accountLabel(account) }, percent);
    await this.redis.client.set(this.k('used', account.id), String(percent), 'EX', 6 * 3600);
  }

  /** When each window of the pool runs dry at the last hour's rate (forecast.ts), over the routable accounts. */
  async forecast(): Promise<WindowForecast[]> {
    const all = await this.accounts.listRoutable();
    const ids = all.map((a) => a.id);
    const [states, samples] = await Promise.all([this.usage.getMany(ids), this.usage.samples(ids)]);
    const inputs = all.flatMap((a) => {
      const state = states.get(a.id);
      return state
        ? [{ state, reservePercent: a.reservePercent ?? 0, samples: samples.get(a.id) ?? [] }]
        : [];
    });
    return forecastPool(inputs, this.clock());
  }

  /**
   * The cost tokens a request is counted at while it runs (turn-cost.ts): its input estimate and the part of it
   * that is new since the conversation's last turn (< 0: all new); cached when the pick kept the conversation on
   * its sticky account.
   */
  turnCost(account: PoolAccount, inputEstimate: number, newInputEstimate: number): number {
    return this.costs.estimate(inputEstimate, newInputEstimate, this.stayedAtPick.has(account));
  }

  /**
   * A turn's real token counts learned (when the upstream gave them): its served cost for end(); without them the
   * estimate stands.
   */
  servedCost(inputEstimate: number, tokens: ServedTokens | null, estimate: number): number {
    return tokens ? this.costs.observe(inputEstimate, tokens) : estimate;
  }

  /**
   * The request got its account: stickiness (when keyed), this process's lease and the request's estimated cost
   * (pending.ts), in one round trip.
   */
  async begin(accountId: string, stickyKey: string | null = null, cost = 1): Promise<void> {
    const r = this.redis.client;
    this.leased.add(accountId);
    this.picked.get(accountId)?.shift(); // its begin is counted now
    // Plain commands issued together: one auto-pipelined write (a MULTI would be a write of its own).
    await Promise.all([
      stickyKey
        ? r.set(
            this.k('sticky', stickyKey),
            accountId,
            'EX',
            Math.max(1, this.config.POOL_STICKY_TTL_SECONDS),
          )
        : null,
      ...this.leases.acquire(accountId),
      r.incrby(this.usage.begunKey(accountId), Math.max(0, Math.round(cost))),
    ]);
  }

  /** Served cost ended on an account so far (shared counter): read before a poll, for the report it brings. */
  async endedCount(accountId: string): Promise<number> {
    return Number((await this.redis.client.get(this.usage.endedKey(accountId))) ?? 0);
  }

  /**
   * The request ended: its lease released; `cost` (what begin counted) becomes `served` (its real cost; 0 for an
   * attempt the upstream refused), so it stays pending at its real cost until a report read after its end.
   */
  async end(accountId: string, cost = 1, served = cost): Promise<void> {
    const r = this.redis.client;
    const c = Math.max(0, Math.round(cost));
    const s = Math.max(0, Math.round(served));
    await Promise.all([
      this.leases.release(accountId),
      s !== c ? r.incrby(this.usage.begunKey(accountId), s - c) : null,
      r.incrby(this.usage.endedKey(accountId), s),
    ]);
  }
}

/** Turn states are opaque upstream strings of any length: the Redis key holds a hash. */
const turnKey = (turnState: string) =>
  createHash('sha256').update(turnState).digest('base64url').slice(0, 32);
