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
   * stickiness, in-flight, used %, the round-robin counter) and picks; the in-process mirror is bypassed.
   */
  service?: PoolServicePort;
  /** Set to the simulated time before every event (the injected clock of PoolService). */
  clock?: { now: number };
}

/** The part of PoolService the gateway path calls (src/accounts/pool/pool.service.ts). */
export interface PoolServicePort {
  pick(stickyKey: string | null, tried: Set<string>): Promise<{ id: string }>;
  begin(accountId: string, stickyKey: string | null): Promise<void>;
  end(accountId: string): Promise<void>;
  coolDown(account: { id: string; label: string }, untilMs: number | null): Promise<number>;
  setUsedPercent(account: { id: string; label: string }, percent: number): Promise<void>;
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
}
