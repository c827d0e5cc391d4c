import { isPrelude, type UpstreamEvent } from '../upstream/events.js';

/**
 * A byte-level SSE framer (docs/adr/0017-byte-level-sse-framer.md): the upstream body's chunks → events whose
 * `raw` is the upstream's own bytes for the block (a view into the chunk, nothing copied or re-encoded), so the
 * relay forwards what the upstream sent. Only the `event:` line is decoded as each block is framed; the data is
 * decoded (and parsed) when the gateway first reads it. Framing follows the WHATWG event-stream rules: lines end
 * in CRLF, LF or CR; a blank line ends a block; `:` lines are comments; one space after the colon is dropped;
 * several `data:` lines join with LF; a block without data is no event; a leading BOM is skipped; an unfinished
 * block at the end of the body is dropped. A block never splits a UTF-8 character (no CR/LF byte inside one), so
 * decoding a complete block is always exact.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const UNPARSED = Symbol('unparsed');
const NOT_JSON = Symbol('not json');

function parseData(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** Where a block's data lines are inside its bytes: [start, end) pairs. */
type Ranges = number[];

class RawEvent implements UpstreamEvent {
  private parsed: any = UNPARSED;
  private decoded: string | null = null;
  constructor(
    readonly type: string,
    /** The whole SSE block, terminating blank line included, as the upstream sent it. */
    readonly raw: Buffer,
    private readonly ranges: Ranges,
  ) {}

  dataText(): string {
    if (this.decoded !== null) return this.decoded;
    const r = this.ranges;
    let text = this.raw.toString('utf8', r[0], r[1]);
    for (let i = 2; i < r.length; i += 2) text += '\n' + this.raw.toString('utf8', r[i], r[i + 1]);
    this.decoded = text;
    return text;
  }

  get data(): any {
    if (this.parsed === UNPARSED) {
      const v = parseData(this.dataText());
      this.parsed = v === NOT_JSON ? {} : v;
    }
    return this.parsed;
  }

  /**
   * UTF-16 length of the `delta` string as written (escapes count as their characters), read from the bytes
   * without decoding or parsing: an estimate for charging aborted streams.
   */
  deltaLength(): number {
    if (this.parsed !== UNPARSED)
      return typeof this.parsed?.delta === 'string' ? this.parsed.delta.length : 0;
    const b = this.raw;
    const r = this.ranges;
    if (r.length !== 2) return typeof this.data?.delta === 'string' ? this.data.delta.length : 0;
    const at = b.indexOf('"delta":"', r[0]);
    if (at < 0 || at >= r[1]) return 0;
    let n = 0;
    for (let i = at + 9; i < r[1]; i++) {
      const c = b[i];
      if (c === BACKSLASH) {
        i++;
        n += 2;
      } else if (c === QUOTE) break;
      else if (c < 0x80 || c >= 0xc0) n += c >= 0xf0 ? 2 : 1; // continuation bytes add nothing
    }
    return n;
  }
}

/** A named event whose data is not a JSON object is never relayed (clients parse every event). */
function looksLikeObject(b: Buffer, r: Ranges): boolean {
  let s = r[0];
  let e = r[r.length - 1];
  if (r.length > 2) {
    const t = b.toString('utf8', s, e).trim();
    return t.startsWith('{') && t.endsWith('}');
  }
  while (s < e && isSpace(b[s])) s++;
  while (e > s && isSpace(b[e - 1])) e--;
  return e - s >= 2 && b[s] === 0x7b && b[e - 1] === 0x7d;
}

const DATA = [0x64, 0x61, 0x74, 0x61];
const EVENT_NAME = [0x65, 0x76, 0x65, 0x6e, 0x74];
function isName(b: Buffer, at: number, name: number[]): boolean {
  for (let i = 0; i < name.length; i++) if (b[at + i] !== name[i]) return false;
  return true;
}

/** A copy in its own memory (not a slice of Buffer's shared 8 KiB pool, which it would keep alive). */
function ownCopy(b: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
}

const isSpace = (c: number) => c === SPACE || c === 0x09 || c === LF || c === CR;

/** Chunks in, complete events out (see the file comment). One framer per body. */
export class SseFramer {
  /** Bytes of the unfinished block, carried to the next chunk. */
  private rest: Buffer | null = null;
  /** Where scanning resumes inside `rest` (the start of its unfinished line), relative to the block start. */
  private lineAt = 0;
  private type = '';
  private ranges: Ranges = [];
  private started = false;

  /** Frames one chunk; complete events are pushed to `out`. */
  push(chunk: Buffer, out: UpstreamEvent[]): void {
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    if (!this.started) {
      if (buf.length < 3 && (!buf.length || buf[0] === 0xef)) {
        this.rest = buf; // maybe a BOM cut short
        return;
      }
      this.started = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    this.rest = null;
    this.scan(buf, false, out);
  }

  /** The body ended: a block still open is dropped (a last CR still ends its line). */
  end(out: UpstreamEvent[]): void {
    const rest = this.rest;
    this.rest = null;
    if (rest?.length) this.scan(rest, true, out);
  }

  private scan(buf: Buffer, final: boolean, out: UpstreamEvent[]): void {
    let block = 0; // start of the current block in buf
    let line = this.lineAt; // start of the current line
    const n = buf.length;
    while (line < n) {
      // The end of this line: the first CR or LF.
      let eol = line;
      while (eol < n) {
        const c = buf[eol];
        if (c === LF || c === CR) break;
        eol++;
      }
      if (eol === n) break; // unfinished line
      let next = eol + 1;
      if (buf[eol] === CR) {
        if (next === n && !final) break; // a CR at the end of the chunk: is an LF next?
        if (next < n && buf[next] === LF) next++;
      }
      if (eol === line) {
        // A blank line: the block ends here.
        if (this.ranges.length) this.dispatch(buf.subarray(block, next), out);
        this.type = '';
        this.ranges = [];
        block = next;
      } else this.field(buf, line, eol, block);
      line = next;
    }
    if (block < n && !final) {
      this.rest = buf.subarray(block);
      this.lineAt = line - block; // ranges are relative to the block start already
    } else {
      this.rest = null;
      this.lineAt = 0;
    }
  }

  /** One `name: value` line of the block starting at `block` (ranges are stored relative to it). */
  private field(buf: Buffer, line: number, eol: number, block: number): void {
    if (buf[line] === COLON) return; // a comment
    let colon = buf.indexOf(COLON, line);
    if (colon < 0 || colon > eol) colon = eol;
    let value = colon + 1;
    if (value < eol && buf[value] === SPACE) value++;
    if (value > eol) value = eol;
    const nameLen = colon - line;
    if (nameLen === 4 && isName(buf, line, DATA)) this.ranges.push(value - block, eol - block);
    else if (nameLen === 5 && isName(buf, line, EVENT_NAME)) this.type = buf.toString('utf8', value, eol);
  }

  private dispatch(raw: Buffer, out: UpstreamEvent[]): void {
    const ranges = this.ranges;
    if (this.type) {
      // The prelude is held until the first output (metered-stream.ts): its own copy, so it does not keep the
      // upstream's whole first chunk alive for the stream's life.
      if (looksLikeObject(raw, ranges))
        out.push(new RawEvent(this.type, isPrelude(this.type) ? ownCopy(raw) : raw, ranges));
      return;
    }
    // An unnamed block: named from its JSON's `type`, and relayed with that name (clients dispatch on it).
    const probe = new RawEvent('message', raw, ranges);
    const data = parseData(probe.dataText());
    if (data === NOT_JSON) return;
    const type = typeof data?.type === 'string' ? data.type : 'message';
    const text = probe.dataText();
    out.push(new NamedEvent(type, data, `event: ${type}\ndata: ${text}\n\n`, text));
  }
}

/** An event the gateway has already parsed (an unnamed block, renamed from its JSON). */
class NamedEvent implements UpstreamEvent {
  constructor(
    readonly type: string,
    readonly data: any,
    readonly raw: string,
    private readonly text: string,
  ) {}
  dataText(): string {
    return this.text;
  }
  deltaLength(): number {
    return typeof this.data?.delta === 'string' ? this.data.delta.length : 0;
  }
}
