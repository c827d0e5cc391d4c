/**
 * Responses over WebSocket keep state per connection: a `response.create` frame may name the previous response
 * of the same socket (`previous_response_id`) and carry only the new input items (docs/upstream-protocol.md §8). The gateway
 * sends every response upstream as one HTTP request with the whole history (what the CLI itself sends after a
 * refused upgrade, docs/upstream-protocol.md §4), so it remembers, per connection, the full input + output of the latest responses.
 * Pure (no I/O); bounded: a few recent responses, and no history larger than `maxBytes`.
 */
export interface ChainLimits {
  /** How many recent responses of one socket can be chained to. */
  keep: number;
  /** Largest remembered history (JSON bytes, approximated by string length). */
  maxBytes: number;
  /** Bytes all remembered histories of this socket may hold together. */
  socketBytes: number;
  /** Shared by every socket of one key: bytes their histories hold together, and the most they may. */
  keyBudget: { used: number; max: number };
}

export class ResponseChain {
  private readonly items = new Map<string, { input: unknown[]; size: number }>();
  private bytes = 0;

  constructor(private readonly limits: ChainLimits) {}

  /** The full input for a frame: the history of `previousId` (if any) followed by the frame's new items. */
  inputFor(previousId: string | null, input: unknown[]): unknown[] | null {
    if (!previousId) return input;
    const prior = this.items.get(previousId);
    if (!prior) return null;
    return [...prior.input, ...input];
  }

  /**
   * Remembers what a finished response adds to the conversation (its input and output items). The oldest of
   * this socket make room; a history that still does not fit the socket's or the key's budget is not remembered
   * (a frame naming it gets previous_response_not_found).
   */
  remember(responseId: string, input: unknown[], output: unknown[]): void {
    const full = [...input, ...output];
    const size = JSON.stringify(full).length;
    this.forget(responseId);
    if (size > this.limits.maxBytes || size > this.limits.socketBytes) return;
    const key = this.limits.keyBudget;
    while (
      this.items.size > 0 &&
      (this.items.size >= this.limits.keep ||
        this.bytes + size > this.limits.socketBytes ||
        key.used + size > key.max)
    )
      this.forget(this.items.keys().next().value as string);
    if (key.used + size > key.max) return;
    this.items.set(responseId, { input: full, size });
    this.bytes += size;
    key.used += size;
  }

  /** Drops everything (the socket closed): the key's budget gets its bytes back. */
  clear(): void {
    for (const id of [...this.items.keys()]) this.forget(id);
  }

  private forget(responseId: string): void {
    const item = this.items.get(responseId);
    if (!item) return;
    this.items.delete(responseId);
    this.bytes -= item.size;
    this.limits.keyBudget.used -= item.size;
  }

  get size(): number {
    return this.items.size;
  }
}

/** Normalises the `input` of a frame: a string is one user message, an array is taken as is. */
export function frameInput(input: unknown): unknown[] | null {
  if (typeof input === 'string')
    return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  if (Array.isArray(input)) return input;
  if (input === undefined || input === null) return [];
  return null;
}

/**
 * The JSON text of an upstream event as it arrived (the data of the SSE block), so the socket sends what the
 * upstream produced without re-serialising; JSON of `data` for an event without its text.
 */
export function eventText(ev: { raw: Buffer | string; data: unknown; dataText?(): string }): string {
  return ev.dataText ? ev.dataText() : JSON.stringify(ev.data);
}
