import { Injectable } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import type { PoolAccount } from '../accounts/account-source.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import { AccountHealth } from '../accounts/pool/health.js';
import { reportFromEvent } from '../accounts/pool/usage-store.js';
import { UpstreamStreamError, type ClassifiedError } from '../upstream/classify.js';
import {
  EVENT,
  isCodexEvent,
  isDelta,
  isEvent,
  isPrelude,
  isTerminal,
  type CodexRateLimits,
  type UpstreamEvent,
  type UpstreamUsage,
} from '../upstream/events.js';
import { discardBody, readSseBatches, releaseBody } from './sse-reader.js';
import { failoverFailure } from './failover.js';
import { ServedModels } from './served-model.js';

/** How a metered stream ended: what the usage row and the limits are charged. */
export interface StreamEnd {
  usage: UpstreamUsage | null;
  /** The model the upstream says answered (`response.model` of the terminal event). */
  model: string | null;
  errorClass: string | null;
  ttfbMs: number | null;
  /** Tokens to settle the limits reservation with. */
  tokens: number;
}

export interface MeteredStreamOptions {
  res: Dispatcher.ResponseData;
  account: PoolAccount;
  /** Date.now() when the request entered the pipeline. */
  t0: number;
  /** Input tokens charged when the client goes away before the upstream reported usage. */
  inputEstimate: number;
  /** The client's signal (its going away makes an `client_aborted` end). */
  clientSignal: AbortSignal;
  /** The upstream request's signal (aborted by the gateway: no circuit-breaker failure). */
  signal: AbortSignal;
  /** Called once, whatever the end (terminal event, break, consumer stopped). */
  onEnd(end: StreamEnd): Promise<void>;
  /** The model the gateway asked the upstream for: compared with the one it reports serving (served-model.ts). */
  requestedModel?: string;
}

/** Events read before the answer is let through; `error` is a break that happened meanwhile. */
export interface HeldEvents {
  events: UpstreamEvent[];
  broken: boolean;
  error?: unknown;
}

/**
 * The upstream event stream as the pipeline hands it on: codex.* removed (their rate limits noted), ends after the
 * terminal event, throws UpstreamStreamError on a break, and meters what it cost (usage, circuit, relayed text).
 */
@Injectable()
export class MeteredStream {
  constructor(
    private readonly pool: PoolService,
    private readonly health: AccountHealth,
    private readonly served: ServedModels,
  ) {}

  async *read(o: MeteredStreamOptions): AsyncGenerator<UpstreamEvent> {
    const { res, account } = o;
    let tokens = 0;
    let relayedChars = 0; // text the consumer received (deltas), to charge an aborted stream
    let terminal = false;
    let usage: UpstreamUsage | null = null;
    let model: string | null = null;
    let errorClass: string | null = null;
    let ttfbMs: number | null = null;
    let servedSeen = false;
    try {
      read: for await (const batch of readSseBatches(res.body)) {
        if (ttfbMs === null) ttfbMs = Date.now() - o.t0;
        for (const ev of batch) {
          if (isCodexEvent(ev.type)) {
            this.noteRateLimits(account, ev.data as CodexRateLimits | undefined);
            continue;
          }
          // The first event naming the serving model (response.created, else the terminal one): downgrade check.
          // Only prelude and terminal events are parsed for it (deltas stay unparsed).
          if (o.requestedModel && !servedSeen && (isPrelude(ev.type) || isTerminal(ev))) {
            const m = (ev.data as { response?: { model?: unknown } } | undefined)?.response?.model;
            if (typeof m === 'string') {
              servedSeen = true;
              this.served.observe(account, o.requestedModel, m);
            }
          }
          if (isTerminal(ev)) {
            terminal = true;
            usage = ev.data?.response?.usage ?? null;
            model = typeof ev.data?.response?.model === 'string' ? ev.data.response.model : null;
            tokens = Number(usage?.total_tokens ?? 0);
            if (ev.type === EVENT.failed)
              errorClass = String(ev.data?.response?.error?.code ?? 'response_failed');
            // An answer cut by the content filter is a policy signal (policy-signals.ts), other cuts are not.
            if (ev.type === EVENT.incomplete)
              errorClass =
                ev.data?.response?.incomplete_details?.reason === 'content_filter'
                  ? 'content_filter'
                  : 'incomplete';
          }
          // Only delta events carry `delta`; its length is read without parsing the event.
          if (isDelta(ev.type))
            relayedChars += ev.deltaLength
              ? ev.deltaLength()
              : typeof (ev.data as { delta?: unknown } | undefined)?.delta === 'string'
                ? (ev.data as { delta: string }).delta.length
                : 0;
          yield ev;
          if (terminal) break read;
        }
      }
      if (!terminal)
        throw new UpstreamStreamError('The upstream stream ended before the response was complete.');
      this.health.success(account.id);
    } catch (err) {
      // The client going away aborts the upstream request, which surfaces here as a broken stream.
      errorClass = o.clientSignal.aborted ? 'client_aborted' : 'stream_disconnected';
      if (!o.signal.aborted) this.health.failure(account.id, account.label);
      if (err instanceof UpstreamStreamError) throw err;
      throw new UpstreamStreamError(`The upstream stream broke: ${(err as Error).message}`);
    } finally {
      if (terminal) releaseBody(res.body);
      else discardBody(res.body);
      // Ended without a terminal event and without an error: the consumer stopped (client went away).
      if (!terminal && !errorClass) errorClass = 'client_aborted';
      // An aborted stream is not free: without the upstream's usage, charge the input estimate plus the
      // output relayed so far (about 4 characters a token), in the usage row and the limits alike.
      if (!usage && errorClass === 'client_aborted') {
        const output = Math.ceil(relayedChars / 4);
        const input = o.inputEstimate;
        usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
        tokens = input + output;
      }
      await o.onEnd({ usage, model, errorClass, ttfbMs, tokens });
    }
  }

  private noteRateLimits(account: PoolAccount, data: CodexRateLimits | undefined): void {
    const report = reportFromEvent(data);
    if (report) void this.pool.recordUsage(account, report).catch(() => {});
  }
}

/**
 * Reads events into `held` until one carries output (anything but the response.created / in_progress prelude) or
 * the stream ends. Returns the classified failure when that first event is a `response.failed` whose code means
 * the account cannot serve now (usage limit, rate limit, plan without Codex); else null.
 */
export async function holdUntilOutput(
  stream: AsyncGenerator<UpstreamEvent>,
  held: HeldEvents,
): Promise<ClassifiedError | null> {
  for (;;) {
    let r: IteratorResult<UpstreamEvent>;
    try {
      r = await stream.next();
    } catch (err) {
      // The stream broke before any output: give the error to the consumer at its first read.
      held.broken = true;
      held.error = err;
      return null;
    }
    if (r.done) return null;
    held.events.push(r.value);
    if (isPrelude(r.value.type)) continue;
    if (!isEvent(r.value, EVENT.failed)) return null;
    return failoverFailure(r.value.data?.response?.error ?? {});
  }
}

/** The held events, then the rest of the stream; a held stream error is rethrown where it happened. */
export async function* replay(
  held: HeldEvents,
  rest: AsyncGenerator<UpstreamEvent>,
): AsyncGenerator<UpstreamEvent> {
  try {
    yield* held.events;
    held.events.length = 0; // relayed: not kept for the rest of the stream
    if (held.broken) throw held.error;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}
