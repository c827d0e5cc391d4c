import { Counter, Histogram, type Registry } from 'prom-client';

/** Conversations remembered per replica for the accounts-per-conversation histogram (oldest forgotten first). */
export const CONVERSATIONS_TRACKED = 10_000;
/** A conversation idle longer than this starts afresh (the upstream prompt cache is long gone by then). */
export const CONVERSATION_IDLE_MS = 3600_000;

export interface CacheObservation {
  /** Bounded account label (the admin's label, or the id); never an e-mail or a token. */
  account: string;
  /** Bounded model label (catalog models, else 'other'). */
  model: string;
  /** All input tokens of the answer, cached ones included. */
  inputTokens: number;
  cachedTokens: number;
  /** Whether the request continues a conversation (a later turn), where the prompt cache should hit. */
  followup: boolean;
}

/**
 * Prompt-cache health (docs/observability.md):
 * - `cg_prompt_cache_input_tokens_total{account,model,cache="hit|miss",turn="first|followup"}`: input tokens
 *   served from the upstream prompt cache vs not. The multi-turn hit rate is hit / (hit + miss) for
 *   turn="followup": it drops when conversations lose their account (stickiness broken) or the cache is cold.
 * - `cg_conversation_accounts`: at each later turn of a conversation, how many distinct accounts have served it
 *   so far (on this replica). 1 is the healthy case; each extra account is a turn that started with a cold cache.
 */
export class CacheMetrics {
  readonly tokens: Counter<string>;
  readonly accountsPerConversation: Histogram<string>;
  private readonly seen = new Map<string, { accounts: Set<string>; at: number }>();

  constructor(registers: Registry[]) {
    this.tokens = new Counter({
      name: 'cg_prompt_cache_input_tokens_total',
      help: 'Input tokens by prompt-cache outcome (hit = served from the upstream cache), account, model and turn',
      labelNames: ['account', 'model', 'cache', 'turn'],
      registers,
    });
    this.accountsPerConversation = new Histogram({
      name: 'cg_conversation_accounts',
      help: 'Distinct accounts that have served a conversation so far, observed at each of its later turns',
      buckets: [1, 2, 3, 4, 6, 8],
      registers,
    });
  }

  observe(o: CacheObservation): void {
    const input = Math.max(0, Math.trunc(o.inputTokens) || 0);
    const hit = Math.min(input, Math.max(0, Math.trunc(o.cachedTokens) || 0));
    const turn = o.followup ? 'followup' : 'first';
    const labels = { account: o.account, model: o.model, turn };
    // inc(…, 0) keeps both series present, so a rate of 0 hits shows as 0 % rather than no data.
    this.tokens.inc({ ...labels, cache: 'hit' }, hit);
    this.tokens.inc({ ...labels, cache: 'miss' }, input - hit);
  }

  /**
   * One turn of a conversation served by `accountId`: whether it is a later turn (this replica has seen the
   * conversation within the idle window) and the distinct accounts so far. Observed into the histogram from the
   * second turn on (a first turn has nothing to compare with).
   */
  conversationTurn(
    conversationId: string,
    accountId: string,
    now = Date.now(),
  ): { followup: boolean; accounts: number } {
    let c = this.seen.get(conversationId);
    if (c && now - c.at > CONVERSATION_IDLE_MS) c = undefined;
    const first = !c;
    if (!c) c = { accounts: new Set(), at: now };
    c.accounts.add(accountId);
    c.at = now;
    // Re-insert: Map order is the eviction order (least recently seen first).
    this.seen.delete(conversationId);
    this.seen.set(conversationId, c);
    if (this.seen.size > CONVERSATIONS_TRACKED) this.seen.delete(this.seen.keys().next().value as string);
    if (!first) this.accountsPerConversation.observe(c.accounts.size);
    return { followup: !first, accounts: c.accounts.size };
  }

  get tracked(): number {
    return this.seen.size;
  }
}
