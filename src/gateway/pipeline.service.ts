import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { assertModelName } from '../common/model-name.js';
import { isModelAllowed } from '../keys/model-access.js';
import { DEFAULT_OUTPUT_ESTIMATE, LimitsService } from '../limits/limits.service.js';
import { outputEstimate } from '../limits/limit-math.js';
import { AccountSource, type AccountCredentials, type PoolAccount } from '../accounts/account-source.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import { AccountHealth } from '../accounts/pool/health.js';
import { unavailableDependency } from '../common/dependency-errors.js';
import { AccountRefreshError, AccountUnavailableError } from '../accounts/account-errors.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { normalizeForCodex } from '../upstream/normalize.js';
import { responsesHeaders } from '../upstream/headers.js';
import {
  classifyUpstream,
  UpstreamStreamError,
  usageSnapshotFromHeaders,
  type ClassifiedError,
} from '../upstream/classify.js';
import { ModelsService } from '../models/models.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { UsageRecorder, type UpstreamUsage } from './usage-recorder.js';
import { discardBody, readSseBatches, releaseBody, type UpstreamEvent } from './sse-reader.js';
import type { OpenedStream, OpenInput } from './types.js';
import { ConversationIds } from './conversation.js';
import { orderLikeCli } from '../upstream/normalize.js';

export type { OpenedStream, OpenInput, UpstreamEvent } from './types.js';

const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete']);
/** Events that come before any output: the answer is held while only these have arrived. */
const PRELUDE = new Set(['response.created', 'response.in_progress']);
/** `response.failed` codes that mean "this account cannot serve now": cooldown and the next account. */
const FAILOVER_CODES = new Set([
  'usage_limit_reached',
  'workspace_member_usage_limit_reached',
  'quota_exceeded',
  'insufficient_quota',
  'rate_limit_exceeded',
  'usage_not_included',
]);

/** The held events, then the rest of the stream; a held stream error is rethrown where it happened. */
async function* replay(
  held: UpstreamEvent[],
  rest: AsyncGenerator<UpstreamEvent>,
): AsyncGenerator<UpstreamEvent> {
  try {
    for (const ev of held) {
      if (ev.type === '__error__') throw ev.data;
      yield ev;
    }
    if (held.at(-1)?.type === '__error__') return;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}

/**
 * The one path every model request takes (/v1/responses and /v1/chat/completions): allow-list, limits, pool pick,
 * upstream call with failover before the first byte (401 → refresh once; usage limit → cooldown + next account;
 * 5xx/network/rate limit → next account), then an event stream the caller relays or translates.
 */
@Injectable()
export class GatewayPipeline {
  private readonly logger = new Logger('responses');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountSource,
    private readonly pool: PoolService,
    private readonly upstream: UpstreamClient,
    private readonly limits: LimitsService,
    private readonly models: ModelsService,
    private readonly recorder: UsageRecorder,
    private readonly metrics: MetricsService,
    private readonly health: AccountHealth,
    private readonly conversations: ConversationIds,
  ) {}

  /** Pool pick that skips accounts whose circuit is open (accounts/pool/health.ts), unless nothing else is left. */
  private async pick(
    stickyKey: string | null,
    tried: Set<string>,
    preferred: string | null = null,
  ): Promise<PoolAccount> {
    const skip = this.health.skipped();
    let account: PoolAccount | undefined;
    if (skip.size) {
      try {
        account = await this.pool.pick(stickyKey, new Set([...tried, ...skip]), preferred);
      } catch (err) {
        if (!(err instanceof ApiError) || err.httpStatus !== 503) throw err;
      }
    }
    account ??= await this.pool.pick(stickyKey, tried, preferred);
    this.health.chosen(account.id);
    return account;
  }

  /** The next account of a request (open and compact alike); with none left, the last attempt's error wins. */
  private async nextAccount(
    run: AccountRun,
    stickyKey: string | null,
    preferred: string | null,
  ): Promise<PoolAccount> {
    let account: PoolAccount;
    try {
      account = await this.pick(stickyKey, run.tried, preferred);
    } catch (err) {
      if (run.last && err instanceof ApiError && err.httpStatus === 503) throw run.last;
      throw err;
    }
    run.tried.add(account.id);
    run.attempts++;
    if (run.attempts > 1) this.metrics.failovers.inc();
    return account;
  }

  /** One attempt failed: remember its error for the client, count it, and stop when no other account helps. */
  private failed(run: AccountRun, error: ApiError, final: boolean): void {
    run.last = error;
    this.metrics.upstreamErrors.inc({ class: String(error.code ?? 'unknown') });
    if (final) throw error;
  }

  async open(input: OpenInput): Promise<OpenedStream> {
    assertModelName(input.body.model); // before anything records or counts the name
    const t0 = Date.now();
    const run: AccountRun = { tried: new Set(), attempts: 0, last: null };
    const requested = typeof input.body.model === 'string' ? input.body.model : 'unknown';
    let prepared: {
      body: Record<string, any>;
      model: string;
      payload: string;
      threadId: string;
      admission: Awaited<ReturnType<LimitsService['admit']>>;
      inputEstimate: number;
    };
    try {
      prepared = await this.prepare(input);
    } catch (err) {
      const status = err instanceof ApiError ? err.httpStatus : 500;
      const errorClass = err instanceof ApiError ? (err.code ?? err.type) : 'internal';
      this.recorder.record(input, requested, {
        status,
        errorClass,
        accountId: null,
        attempts: run.attempts,
        t0,
        ttfbMs: null,
      });
      throw err;
    }
    const { model, payload, admission, threadId, inputEstimate } = prepared;
    // The conversation id keys stickiness (bounded, per user; the client's string is never a Redis key).
    const stickyKey = threadId;
    // Stickiness: the account that issued the turn state, then the caller's preference, then the conversation.
    const turnState = input.codex?.turnState || null;
    const preferred =
      (turnState && (await this.pool.turnAccount(turnState))) || input.preferAccountId || null;
    const controller = new AbortController();
    const onClientAbort = () => controller.abort();
    input.signal.addEventListener('abort', onClientAbort, { once: true });
    try {
      while (run.attempts < this.config.POOL_MAX_ATTEMPTS) {
        const account = await this.nextAccount(run, stickyKey, preferred);
        const result = await this.attempt(account, model, threadId, payload, controller.signal, {
          turnState,
          betaFeatures: input.codex?.betaFeatures,
        });
        if ('error' in result) {
          this.failed(run, result.error, result.final);
          continue;
        }
        // In-flight count + the conversation's sticky account (the last attempt's wins): not awaited, the commands
        // go out in order on the one connection, so the matching end() can never overtake them.
        void this.pool.begin(account.id, stickyKey).catch(() => {});
        this.metrics.inflight.inc();
        // While the answer is held (see below), a failed attempt must leave no usage row and no settlement.
        let discarded = false;
        const done = (usage: UpstreamUsage | null, errorClass: string | null, ttfbMs: number | null) => {
          this.metrics.inflight.dec();
          void this.pool.end(account.id).catch(() => {});
          if (discarded) return;
          input.signal.removeEventListener('abort', onClientAbort);
          this.recorder.record(input, requested, {
            status: 200,
            errorClass,
            accountId: account.id,
            attempts: run.attempts,
            t0,
            ttfbMs,
            usage,
          });
        };
        const settle = (tokens: number) => (discarded ? Promise.resolve() : admission.settle(tokens));
        const charge = { inputEstimate, clientSignal: input.signal };
        const upstreamAt = Date.now();
        const stream = this.stream(result.res, account, done, settle, t0, charge, controller.signal);
        // Hold the answer (and so the client's status line and headers) until the first event that carries
        // output, or the terminal one: a usage/rate-limit `response.failed` before any output then fails over
        // to the next account invisibly, as an HTTP 429 would.
        const held: UpstreamEvent[] = [];
        if (this.config.HOLD_HEADERS_UNTIL_OUTPUT) {
          const failed = await this.holdUntilOutput(stream, held);
          if (failed) {
            discarded = true;
            await stream.return(undefined);
            this.logger.warn(
              { account: account.label, code: failed.code, errorClass: failed.errorClass },
              'upstream failed before any output (response.failed)',
            );
            const r = await this.afterFailure(account, failed);
            this.failed(run, r.error, false);
            continue;
          }
          this.metrics.headerHold.observe((Date.now() - upstreamAt) / 1000);
        }
        const issuedTurnState = headerValue(result.res.headers['x-codex-turn-state']);
        // Not awaited either: the client cannot send the next request of the turn before it has this answer.
        if (issuedTurnState) void this.pool.stickTurn(issuedTurnState, account.id).catch(() => {});
        return {
          accountId: account.id,
          headers: admission.headers,
          events: replay(held, stream),
          abort: () => controller.abort(),
          turnState: issuedTurnState,
        };
      }
      throw (
        run.last ??
        ApiError.unavailable('No subscription account could serve the request.', 'no_healthy_account')
      );
    } catch (err) {
      input.signal.removeEventListener('abort', onClientAbort);
      await admission.settle(0).catch(() => {});
      this.recorder.record(input, requested, {
        status: err instanceof ApiError ? err.httpStatus : 500,
        errorClass: err instanceof ApiError ? (err.code ?? err.type) : 'internal',
        accountId: null,
        attempts: run.attempts,
        t0,
        ttfbMs: null,
      });
      if (controller.signal.aborted && !(err instanceof ApiError)) {
        throw ApiError.clientClosed();
      }
      throw err;
    }
  }

  /** Alias resolution, Codex normalisation, allow-list and limits: everything decided before any upstream call. */
  private async prepare(input: OpenInput) {
    const resolved = await this.models.resolveAlias(input.body);
    const normalized = normalizeForCodex(resolved);
    const { body, model } = normalized;
    const dropped = [...(input.dropped ?? []), ...normalized.dropped];
    if (dropped.length)
      this.logger.debug(
        { reqId: input.requestId, dropped },
        'dropped client parameters (see docs/parameters.md)',
      );
    if (!isModelAllowed(input.auth.allowedModels, String(input.body.model))) {
      throw ApiError.forbidden(
        `This key is not allowed to use the model '${String(input.body.model)}'.`,
        'model_not_allowed',
      );
    }
    // The reservation covers the input and the answer still to come (item 3 of issue 11). With the client's body
    // size known, the limits check and the conversation lookup are one Redis round trip apart, not two.
    const output = outputEstimate(input.body, DEFAULT_OUTPUT_ESTIMATE);
    const early =
      input.bodyBytes !== undefined ? this.limits.admit(input.auth, input.bodyBytes / 4 + output) : null;
    early?.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    // One conversation id per (user, client conversation key): the CLI's thread id, sent as prompt_cache_key too.
    const conversation = await this.conversations.resolve(input.auth, body);
    body.prompt_cache_key = conversation.id;
    const payload = JSON.stringify(orderLikeCli(body));
    const inputEstimate = Math.ceil(payload.length / 4);
    const admission = await (early ?? this.limits.admit(input.auth, inputEstimate + output));
    return { body, model, payload, admission, threadId: conversation.id, inputEstimate };
  }

  /** One account: send, and on a 401 refresh once and send again. */
  private async attempt(
    account: PoolAccount,
    model: string,
    threadId: string,
    payload: string,
    signal: AbortSignal,
    extra: UpstreamExtras = {},
  ): Promise<{ res: Dispatcher.ResponseData } | { error: ApiError; final: boolean }> {
    let creds: AccountCredentials;
    try {
      creds = await this.accounts.getCredentials(account.id);
    } catch (err) {
      if (err instanceof AccountRefreshError || err instanceof AccountUnavailableError)
        return { error: err, final: false };
      const down = unavailableDependency(err);
      if (down)
        return {
          error: ApiError.unavailable(`The gateway's ${down} is unavailable.`, `${down}_unavailable`),
          final: false,
        };
      throw err;
    }
    // 401 recovery as the Codex CLI does it (docs/upstream-protocol.md §6): after the first 401 re-read the
    // stored credentials (another replica may have refreshed) and retry; after the second, refresh (single flight
    // across replicas, keyed on the stale token) and retry; a third 401 moves on to another account.
    for (let unauthorized = 0; ;) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.upstream.request(
          'POST',
          extra.path ?? '/responses',
          responsesHeaders(this.config, {
            accessToken: creds.accessToken,
            chatgptAccountId: creds.chatgptAccountId,
            threadId,
            model,
            turnState: extra.turnState,
            betaFeatures: extra.betaFeatures,
            accept: extra.accept,
          }),
          payload,
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof ApiError) return { error: err, final: true }; // at capacity: no other account helps
        this.logger.warn({ account: account.label, err: (err as Error).message }, 'upstream network error');
        this.health.failure(account.id, account.label);
        return {
          error: ApiError.unavailable('The upstream could not be reached.', 'upstream_unreachable'),
          final: false,
        };
      }
      const snapshot = usageSnapshotFromHeaders(res.headers);
      if (snapshot) {
        const used = (snapshot as { maxUsedPercent: number }).maxUsedPercent;
        void this.pool.setUsedPercent(account, used).catch(() => {});
        void this.accounts.recordUsageSnapshot(account.id, snapshot).catch(() => {});
      }
      if (res.statusCode === 200) {
        this.models.noteUpstreamEtag(headerValue(res.headers['x-models-etag']));
        return { res };
      }
      const text = await res.body.text().catch(() => '');
      const c = classifyUpstream(res.statusCode, text, res.headers);
      this.logger.warn(
        { account: account.label, status: res.statusCode, errorClass: c.errorClass, code: c.code },
        'upstream refused',
      );
      if (c.errorClass === 'auth' && unauthorized < 2) {
        unauthorized++;
        try {
          creds =
            unauthorized === 1
              ? await this.accounts.reloadCredentials(account.id)
              : await this.accounts.refreshAfterUnauthorized(account.id, creds.accessToken);
          continue;
        } catch (err) {
          return { error: err instanceof ApiError ? err : toApiError(c), final: false };
        }
      }
      return this.afterFailure(account, c);
    }
  }

  /**
   * Reads events into `held` until one carries output (anything but the response.created / in_progress prelude) or
   * the stream ends. Returns the classified failure when that first event is a `response.failed` whose code means
   * the account cannot serve now (usage limit, rate limit, plan without Codex); else null.
   */
  private async holdUntilOutput(
    stream: AsyncGenerator<UpstreamEvent>,
    held: UpstreamEvent[],
  ): Promise<ClassifiedError | null> {
    for (;;) {
      let r: IteratorResult<UpstreamEvent>;
      try {
        r = await stream.next();
      } catch (err) {
        // The stream broke before any output: give the error to the consumer at its first read.
        held.push({ type: '__error__', data: err, raw: '' });
        return null;
      }
      if (r.done) return null;
      held.push(r.value);
      if (PRELUDE.has(r.value.type)) continue;
      if (r.value.type !== 'response.failed') return null;
      const error = r.value.data?.response?.error ?? {};
      const code = typeof error.code === 'string' ? error.code : null;
      if (!code || !FAILOVER_CODES.has(code)) return null;
      return classifyUpstream(429, JSON.stringify({ error: { ...error, type: code } }), {});
    }
  }

  private async afterFailure(
    account: PoolAccount,
    c: ClassifiedError,
  ): Promise<{ error: ApiError; final: boolean }> {
    switch (c.errorClass) {
      case 'usage_limit': {
        const until = await this.pool.coolDown(account, c.resetAt);
        const secs = Math.ceil((until - Date.now()) / 1000);
        return {
          error: ApiError.rateLimited(
            'Every subscription account has reached its usage limit.',
            secs,
            'usage_limit_reached',
          ),
          final: false,
        };
      }
      case 'rate_limit':
        await this.pool.coolDown(account, c.resetAt);
        return {
          error: ApiError.rateLimited(c.message, Math.ceil(((c.resetAt ?? Date.now()) - Date.now()) / 1000)),
          final: false,
        };
      case 'usage_not_included':
        await this.accounts.markStatus(
          account.id,
          'unusable',
          'plan does not include Codex (usage_not_included)',
        );
        return { error: toApiError(c), final: false };
      case 'account_disabled':
        await this.accounts.markStatus(
          account.id,
          'needs_reauth',
          `upstream refused the account (${c.code})`,
        );
        return { error: toApiError(c), final: false };
      case 'blocked':
      case 'forbidden':
        // Not a token problem: no refresh (it would spend the single-use refresh token for nothing). Rest it.
        await this.pool.coolDown(
          account,
          Date.now() + this.config.UPSTREAM_FORBIDDEN_COOLDOWN_SECONDS * 1000,
        );
        return { error: toApiError(c), final: false };
      case 'auth':
      case 'server':
        if (c.errorClass === 'server') this.health.failure(account.id, account.label);
        // Back off a little before the next account so a struggling upstream is not hammered.
        await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 150)));
        return { error: toApiError(c), final: false };
      default:
        return { error: toApiError(c), final: true };
    }
  }

  /**
   * POST {base}/responses/compact (remote compaction, unary JSON; docs/upstream-protocol.md §8) through the same key rules,
   * limits, pool, failover and usage rows as open(). The body is the Codex CLI's own and goes up unchanged after
   * alias resolution; the answer `{"output":[…]}` comes back as parsed JSON.
   */
  async compact(
    input: OpenInput,
  ): Promise<{ body: unknown; headers: Record<string, string>; turnState: string | null }> {
    const t0 = Date.now();
    const run: AccountRun = { tried: new Set(), attempts: 0, last: null };
    let accountId: string | null = null;
    const requested = typeof input.body.model === 'string' ? input.body.model : 'unknown';
    let admission: Awaited<ReturnType<LimitsService['admit']>> | null = null;
    const controller = new AbortController();
    const onClientAbort = () => controller.abort();
    input.signal.addEventListener('abort', onClientAbort, { once: true });
    try {
      const body = await this.models.resolveAlias(input.body);
      if (typeof body.model !== 'string' || !body.model)
        throw ApiError.badRequest(
          "Missing required parameter: 'model'.",
          'model',
          'missing_required_parameter',
        );
      if (!Array.isArray(body.input))
        throw ApiError.badRequest("'input' must be an array of items.", 'input', 'invalid_value');
      if (!isModelAllowed(input.auth.allowedModels, requested))
        throw ApiError.forbidden(
          `This key is not allowed to use the model '${requested}'.`,
          'model_not_allowed',
        );
      const payload = JSON.stringify(body);
      admission = await this.limits.admit(input.auth, Math.ceil(payload.length / 4));
      const threadId = (await this.conversations.resolve(input.auth, body)).id;
      const stickyKey = threadId;
      const turnState = input.codex?.turnState || null;
      const preferred =
        (turnState && (await this.pool.turnAccount(turnState))) || input.preferAccountId || null;
      while (run.attempts < this.config.POOL_MAX_ATTEMPTS) {
        const account = await this.nextAccount(run, stickyKey, preferred);
        const result = await this.attempt(account, body.model, threadId, payload, controller.signal, {
          path: '/responses/compact',
          accept: 'application/json',
          turnState,
          betaFeatures: input.codex?.betaFeatures ?? 'remote_compaction_v2',
        });
        if ('error' in result) {
          this.failed(run, result.error, result.final);
          continue;
        }
        accountId = account.id;
        await this.pool.stick(stickyKey, account.id);
        const issued = headerValue(result.res.headers['x-codex-turn-state']);
        if (issued) await this.pool.stickTurn(issued, account.id);
        const text = await result.res.body.text();
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          throw ApiError.badGateway(
            'The upstream answered the compaction with invalid JSON.',
            'upstream_error',
          );
        }
        if (!json || !Array.isArray(json.output))
          throw ApiError.badGateway('The upstream compaction answer has no output.', 'upstream_error');
        const usage = (json.usage ?? null) as UpstreamUsage | null;
        const headers = admission.headers;
        await admission.settle(Number(usage?.total_tokens ?? 0)).catch(() => {});
        admission = null;
        this.recorder.record(input, requested, {
          status: 200,
          errorClass: null,
          accountId,
          attempts: run.attempts,
          t0,
          ttfbMs: Date.now() - t0,
          usage,
        });
        return { body: json, headers, turnState: issued };
      }
      throw (
        run.last ??
        ApiError.unavailable('No subscription account could serve the request.', 'no_healthy_account')
      );
    } catch (err) {
      if (admission) await admission.settle(0).catch(() => {});
      this.recorder.record(input, requested, {
        status: err instanceof ApiError ? err.httpStatus : 500,
        errorClass: err instanceof ApiError ? (err.code ?? err.type) : 'internal',
        accountId,
        attempts: run.attempts,
        t0,
        ttfbMs: null,
      });
      if (controller.signal.aborted && !(err instanceof ApiError)) throw ApiError.clientClosed();
      throw err;
    } finally {
      input.signal.removeEventListener('abort', onClientAbort);
    }
  }

  private async *stream(
    res: Dispatcher.ResponseData,
    account: PoolAccount,
    done: (usage: UpstreamUsage | null, errorClass: string | null, ttfbMs: number | null) => void,
    settle: (tokens: number) => Promise<void>,
    t0: number,
    charge: { inputEstimate: number; clientSignal?: AbortSignal } = { inputEstimate: 0 },
    signal?: AbortSignal,
  ): AsyncGenerator<UpstreamEvent> {
    let tokens = 0;
    let relayedChars = 0; // text the consumer received (deltas), to charge an aborted stream
    let terminal = false;
    let usage: UpstreamUsage | null = null;
    let errorClass: string | null = null;
    let ttfbMs: number | null = null;
    try {
      read: for await (const batch of readSseBatches(res.body)) {
        if (ttfbMs === null) ttfbMs = Date.now() - t0;
        for (const ev of batch) {
          if (ev.type.startsWith('codex.')) {
            const rl = ev.data?.rate_limits;
            const percents = [rl?.primary?.used_percent, rl?.secondary?.used_percent].filter(
              (x) => typeof x === 'number',
            );
            const used = percents.length ? Math.max(...percents) : undefined;
            if (typeof used === 'number') void this.pool.setUsedPercent(account, used).catch(() => {});
            continue;
          }
          if (TERMINAL.has(ev.type)) {
            terminal = true;
            usage = ev.data?.response?.usage ?? null;
            tokens = Number(usage?.total_tokens ?? 0);
            if (ev.type === 'response.failed')
              errorClass = String(ev.data?.response?.error?.code ?? 'response_failed');
            if (ev.type === 'response.incomplete') errorClass = 'incomplete';
          }
          // Only delta events carry `delta`; its length is read without parsing the event.
          if (ev.type.endsWith('.delta'))
            relayedChars += ev.deltaLength
              ? ev.deltaLength()
              : typeof ev.data?.delta === 'string'
                ? ev.data.delta.length
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
      errorClass = charge.clientSignal?.aborted ? 'client_aborted' : 'stream_disconnected';
      if (!signal?.aborted) this.health.failure(account.id, account.label);
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
        const input = charge.inputEstimate;
        usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
        tokens = input + output;
      }
      done(usage, errorClass, ttfbMs);
      await settle(tokens).catch(() => {});
    }
  }
}

/** The accounts one request has tried, how many attempts it made, and the last attempt's error. */
interface AccountRun {
  tried: Set<string>;
  attempts: number;
  last: ApiError | null;
}

interface UpstreamExtras {
  path?: string;
  accept?: string;
  turnState?: string | null;
  betaFeatures?: string | null;
}

function headerValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s : null;
}

function toApiError(c: ClassifiedError): ApiError {
  if (c.errorClass === 'bad_request') {
    return ApiError.of({
      status: c.status >= 400 && c.status < 500 ? c.status : 400,
      message: `Upstream rejected the request: ${c.message}`,
      type: 'invalid_request_error',
      code: c.code,
    });
  }
  if (c.errorClass === 'auth')
    return ApiError.unavailable('The subscription account was refused by the upstream.', 'upstream_auth');
  if (c.errorClass === 'blocked' || c.errorClass === 'forbidden' || c.errorClass === 'account_disabled')
    return ApiError.unavailable(
      'The subscription account was refused by the upstream.',
      c.code ?? 'upstream_forbidden',
    );
  if (c.errorClass === 'usage_not_included')
    return ApiError.unavailable('The subscription plan does not include Codex.', 'usage_not_included');
  return ApiError.badGateway(`Upstream error: ${c.message}`, c.code ?? 'upstream_error');
}
