/**
 * What a turn costs an account's windows, in "cost tokens": uncached input + CACHED_INPUT_WEIGHT × cached input +
 * output. The pending estimate (pending.ts) counts requests by this cost, not one by one: a conversation that just
 * moved to an account re-sends its whole input uncached and moves a window many times the mean turn (the pool e2e
 * met it: a Plus reported at 88 %, read as 94 % with one request pending at the mean, was at 115 % when the next
 * request arrived). Capacity (tokens per used-% point, usage-state.ts) is learned in the same unit.
 */

/**
 * Weight of a cached input token against an uncached one. An ASSUMPTION, not a published fact about the plans:
 * OpenAI's API bills cached input at a tenth, and the subscription windows are taken to weigh it alike. Only the
 * ratio between turns depends on it; capacity is learned in this unit, so a wrong weight skews the estimate of a
 * moved turn against a cached one, not the scale.
 */
export const CACHED_INPUT_WEIGHT = 0.1;
/** Output tokens assumed per answer until this process has seen some. */
export const DEFAULT_OUTPUT_TOKENS = 300;
/** Weight of a new observation in the process's running means. */
const SMOOTHING = 0.1;

export interface ServedTokens {
  input: number;
  cached: number;
  output: number;
}

export function servedCost(t: ServedTokens): number {
  const input = Math.max(0, t.input);
  const cached = Math.min(input, Math.max(0, t.cached));
  return Math.round(input - cached + CACHED_INPUT_WEIGHT * cached + Math.max(0, t.output));
}

/** Item types the model produces (everything up to the last of them was in the previous turn's prompt or answer). */
const MODEL_ITEMS = new Set([
  'reasoning',
  'function_call',
  'custom_tool_call',
  'local_shell_call',
  'web_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'file_search_call',
  'computer_call',
  'mcp_call',
  'compaction',
]);

/**
 * Characters of the input that the previous turn did not have: the items after the last model-produced one (a
 * conversation resent in full adds the tool outputs and the user's message). The rest is the cached prefix when
 * the turn stays on its account. An input without model items is new as a whole.
 */
export function newInputChars(input: unknown): number {
  if (!Array.isArray(input)) return typeof input === 'string' ? input.length : 0;
  let last = -1;
  for (let i = input.length - 1; i >= 0; i--) {
    const it = input[i] as { type?: unknown; role?: unknown } | null;
    if (it && (it.role === 'assistant' || (typeof it.type === 'string' && MODEL_ITEMS.has(it.type)))) {
      last = i;
      break;
    }
  }
  if (last < 0) return -1; // all new
  let chars = 0;
  for (let i = last + 1; i < input.length; i++) chars += JSON.stringify(input[i] ?? null).length;
  return chars;
}

/** newInputChars as the gateway's token estimate (characters ÷ 4); -1: all new. */
export function newInputTokens(input: unknown): number {
  const chars = newInputChars(input);
  return chars < 0 ? -1 : Math.ceil(chars / 4);
}

/**
 * This process's estimator: the gateway's input estimate (body characters ÷ 4) calibrated by the upstream's token
 * counts, the mean output, and the mean served cost of a turn (the score's "next turn" under an owner's reserve).
 */
export class TurnCosts {
  /** Upstream input tokens ÷ the gateway's estimate, smoothed. */
  private inputRatio = 1;
  private output = DEFAULT_OUTPUT_TOKENS;
  private turn: number | null = null;

  /**
   * A turn's cost before it runs: `inputEstimate` tokens in all, `newInputEstimate` of them new (< 0: all new);
   * `cached`: it goes to the account that served the conversation's last turn (its prompt cache is there).
   */
  estimate(inputEstimate: number, newInputEstimate: number, cached: boolean): number {
    const total = Math.max(0, inputEstimate) * this.inputRatio;
    const fresh =
      cached && newInputEstimate >= 0 ? Math.min(total, newInputEstimate * this.inputRatio) : total;
    return Math.max(1, Math.round(fresh + CACHED_INPUT_WEIGHT * (total - fresh) + this.output));
  }

  /** A turn's real token counts (its `response.completed` usage): learns, and returns its served cost. */
  observe(inputEstimate: number, t: ServedTokens): number {
    if (inputEstimate > 0 && t.input > 0) {
      const ratio = Math.min(10, Math.max(0.1, t.input / inputEstimate));
      this.inputRatio += SMOOTHING * (ratio - this.inputRatio);
    }
    if (t.output >= 0) this.output += SMOOTHING * (t.output - this.output);
    const cost = servedCost(t);
    this.turn = this.turn === null ? cost : this.turn + SMOOTHING * (cost - this.turn);
    return cost;
  }

  /** The mean served cost of a turn in this process (null before the first). */
  meanTurn(): number | null {
    return this.turn === null ? null : Math.round(this.turn);
  }
}
