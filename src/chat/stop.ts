/**
 * Chat `stop` sequences (up to 4), applied by the gateway because the backend has no such parameter: text goes
 * through `push`, which returns what may be sent now. A tail that could still be the start of a stop sequence is held
 * back until the next delta decides it, so a client never sees a partial stop string; when a sequence appears, the
 * text before it is released and the answer ends there (the sequence itself is not included, as with OpenAI).
 */
export class StopCutter {
  private held = '';
  private stoppedAt = false;

  constructor(private readonly stops: string[]) {}

  get stopped(): boolean {
    return this.stoppedAt;
  }

  static from(stop: unknown): StopCutter | null {
    const list = (typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []).filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    return list.length ? new StopCutter(list) : null;
  }

  push(delta: string): string {
    if (this.stoppedAt) return '';
    const buf = this.held + delta;
    let cut = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    if (cut !== -1) {
      this.stoppedAt = true;
      this.held = '';
      return buf.slice(0, cut);
    }
    // Hold the longest tail that is a proper prefix of some stop sequence.
    let keep = 0;
    for (const s of this.stops)
      for (let n = Math.min(s.length - 1, buf.length); n > keep; n--)
        if (buf.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
    this.held = buf.slice(buf.length - keep);
    return buf.slice(0, buf.length - keep);
  }

  /** The answer ended without a stop sequence: release what was held. */
  flush(): string {
    const rest = this.stoppedAt ? '' : this.held;
    this.held = '';
    return rest;
  }
}
