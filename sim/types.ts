/** The simulator's inputs and outputs (sim/engine.ts runs them). */
import type { PoolStrategy } from '../src/accounts/pool/pool-choice.ts';
import type { ScoreWeights } from '../src/accounts/pool/score.ts';
import type { Conversation } from './workload.ts';

export interface AccountSpec {
  plan: string;
  reservePercent: number;
  maxConcurrent: number | null;
}

export interface RunOptions {
  strategy: PoolStrategy;
  accounts: AccountSpec[];
  conversations: Conversation[];
  start: number;
  days: number;
  seed: number;
  /** POOL_MAX_ATTEMPTS */
  maxAttempts: number;
  cacheTtlMs: number;
  capacityScale: number;
  /** The gateway drops reasoning minted by another account before sending (today's gateway does not). */
  stripForeignReasoning: boolean;
  /** Access-token lifetime and REFRESH_LEAD_SECONDS. */
  tokenTtlMs: number;
  refreshLeadSeconds: number;
  /** wham/usage polling (the score strategy's state; the other strategies only read response headers, as today). */
  pollEveryMs: number;
  pollFailureRate: number;
  earlyResets: number;
  /** Owner use of reserved accounts, % of the weekly window per working day. */
  ownerPercentPerDay: number;
  incidents: number;
  /** Hourly samples of used % per account for the plot. */
  sample: boolean;
  debug?: (line: string) => void;
  /** Score weights other than the defaults (sensitivity runs). */
  weights?: Partial<ScoreWeights>;
  /**
   * The real PoolService (built, on Redis; sim/pool-service.ts): when set, it keeps the pool state (cooldowns,
   * stickiness, in-flight, usage state, the round-robin counter) and picks; the in-process mirror is bypassed.
   */
  service?: SimService;
  /** Set to the simulated time before every event (the injected clock of PoolService). */
  clock?: { now: number };
}

/** A usage report as PoolService.recordUsage takes it (src/accounts/pool/usage-store.ts UsageReport). */
export interface SimReport {
  plan?: string | null;
  windows: { usedPercent: number; windowSeconds?: number | null; resetAt?: number | null }[];
}

/** An account as PoolService.pick returns it (PoolAccount); the same object goes back to recordUsage. */
export interface PickedAccount {
  id: string;
  label: string;
  planType: string | null;
  reservePercent?: number;
  maxConcurrent?: number | null;
}

/** The part of PoolService the gateway calls (pipeline.service.ts, failover.ts, account-attempt.ts, usage-poller.ts). */
export interface PoolServicePort {
  pick(stickyKey: string | null, tried: Set<string>, preferredId?: string | null): Promise<PickedAccount>;
  /** `costTokens`: the request's estimated cost (ignored by builds before the cost-weighted pending estimate). */
  begin(accountId: string, stickyKey: string | null, costTokens?: number): Promise<void>;
  /** The same estimate as at begin, and the served cost (uncached input + 0.1 × cached input + output). */
  end(accountId: string, costTokens?: number, servedTokens?: number): Promise<void>;
  coolDown(account: PickedAccount, untilMs: number | null): Promise<number>;
  recordUsage(
    account: PickedAccount,
    report: SimReport,
    asOf?: number,
    endedBefore?: number | null,
  ): Promise<unknown>;
  endedCount(accountId: string): Promise<number>;
  usage: { get(id: string): Promise<unknown> };
}

/** AccountHealth (src/accounts/pool/health.ts), called with the simulated time. */
export interface HealthPort {
  skipped(now: number): Set<string>;
  chosen(id: string, now: number): void;
  success(id: string, now: number): void;
  failure(id: string, label: string | undefined, now: number): void;
}

/** The UsageProbe PoolService reads through when its estimate is unsure: the simulated backend's wham/usage. */
export interface SimProbe {
  reader: ((id: string) => SimReport | null) | null;
  reads: number;
  read(a: { id: string }): Promise<{ status: number; report: SimReport | null; readAt: number }>;
}

export interface SimService {
  port: PoolServicePort;
  health: HealthPort;
  probe: SimProbe;
}

export interface Metrics {
  strategy: string;
  turns: number;
  served: number;
  refusals: number;
  refusalsWithHeadroom: number;
  otherErrors: number;
  foreignReasoningErrors: number;
  cacheHitShare: number;
  accountsPerConversation: number;
  capacityUsedAtFirstRefusal: number | null;
  weeklyUsedAtFirstRefusal: number | null;
  capacityUsedWorstWeek: number | null;
  firstRefusalAt: number | null;
  sentToLimited: number;
  sentIntoReserve: number;
  sentOverCap: number;
  refreshesMax: number;
  refreshesAllowed: number;
  costServed: number;
  samples: { t: number; used: number[] }[];
  accountIds: string[];
  /** With --pool-service: what the sim handed PoolService (answers' reports, poller reads) and its own reads. */
  service?: { reports: number; polls: number; failedPolls: number; probeReads: number };
}
