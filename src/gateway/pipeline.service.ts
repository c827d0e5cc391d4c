import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { assertModelName } from '../common/model-name.js';
import { isModelAllowed } from '../keys/model-access.js';
import { DEFAULT_OUTPUT_ESTIMATE, LimitsService } from '../limits/limits.service.js';
import type { PoolAccount } from '../accounts/account-source.js';
import { accountLabel } from '../accounts/pool/account-label.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import { TracingService } from '../telemetry/telemetry.module.js';
import type { AttemptSpan } from '../telemetry/tracing.js';
import { normalizeForCodex, orderLikeCli, screenCompaction } from '../upstream/normalize.js';
import type { UpstreamEvent } from '../upstream/events.js';
import { ModelsService } from '../models/models.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { UsageRecorder, type RequestOutcome } from './usage-recorder.js';
import type { OpenedStream, OpenInput } from './types.js';
import type { RequestAuth } from '../common/auth-context.js';
import { usageCounts, type TokenCounts } from '../pricing/price-math.js';
import { ConversationIds } from './conversation.js';
import { Failover, type AccountRun } from './failover.js';
import { AccountAttempt, headerValue } from './account-attempt.js';
import { boundTurnAccount, forAccount, stickTurn } from './turn-binding.js';
import { holdUntilOutput, MeteredStream, replay, type HeldEvents } from './metered-stream.js';
import { OpaqueItems, recordMinted } from './portable-input.js';
import { captureCompleted, ResponseStore } from './response-store.js';
import { compactionUsage, parseCompaction } from './compaction.js';
import type { Plan, Served } from './pipeline-plan.js';
import { newInputTokens } from '../accounts/pool/turn-cost.js';

/** An answered attempt the endpoint did not take (failed before any output): the next account is tried. */
const NEXT_ACCOUNT = Symbol('next account');

/**
 * The one path every model request takes (/v1/responses, /v1/chat/completions, compaction): allow-list, limits,
 * pool pick, upstream call with failover before the first byte (401 → re-read, then refresh; usage limit →
 * cooldown + next account; 5xx/network/rate limit → next account; account-attempt.ts and failover.ts), then an
 * event stream the caller relays or translates (metered-stream.ts), and one usage row whatever the outcome.
 */
@Injectable()
export class GatewayPipeline {
  private readonly logger = new Logger('responses');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pool: PoolService,
    private readonly limits: LimitsService,
    private readonly models: ModelsService,
    private readonly recorder: UsageRecorder,
    private readonly metrics: MetricsService,
    private readonly conversations: ConversationIds,
    private readonly failover: Failover,
    private readonly attempt: AccountAttempt,
    private readonly metered: MeteredStream,
    private readonly tracing: TracingService,
    private readonly opaque: OpaqueItems,
    private readonly store: ResponseStore,
  ) {}

  /** POST {base}/responses as a stream of events, held until the first output (see `startStream`). */
  async open(input: OpenInput): Promise<OpenedStream> {
    assertModelName(input.body.model); // before anything records or counts the name
    return this.serve(
      input,
      () => this.prepare(input),
      (s) => this.startStream(s),
    );
  }

  /**
   * Admission of a request the gateway answers itself (a WebSocket prewarm frame): it counts against the key's
   * and user's RPM and is refused while any of their budgets is spent, like a request that goes upstream.
   */
  async admitLocal(auth: RequestAuth): Promise<void> {
    const admission = await this.limits.admit(auth, 1);
    await admission.settle(0);
  }

  /**
   * POST {base}/responses/compact (remote compaction, unary JSON; docs/upstream-protocol.md §8) through the same key
   * rules, model check, parameter table, limits, pool, failover and usage rows as open(); the answer
   * `{"output":[…]}` comes back as parsed JSON.
   */
  async compact(
    input: OpenInput,
  ): Promise<{ body: unknown; headers: Record<string, string>; turnState: string | null }> {
    assertModelName(input.body.model);
    return this.serve(
      input,
      () => this.prepareCompact(input),
      (s) => this.readCompaction(s),
    );
  }

  /**
   * The skeleton of every request: plan, then one attempt per account until one is answered and taken (or no
   * account is left), and the usage row of a request that ends here (failures; successes record at their end).
   */
  private async serve<T>(
    input: OpenInput,
    prepare: () => Promise<Plan>,
    accept: (s: Served) => Promise<T | typeof NEXT_ACCOUNT>,
  ): Promise<T> {
    const t0 = Date.now();
    const run: AccountRun = { tried: new Set(), attempts: 0, last: null };
    const requested = typeof input.body.model === 'string' ? input.body.model : 'unknown';
    const controller = new AbortController();
    const onClientAbort = () => controller.abort();
    input.signal.addEventListener('abort', onClientAbort, { once: true });
    const detach = () => input.signal.removeEventListener('abort', onClientAbort);
    let recorded = false;
    let current: { account: PoolAccount; span: AttemptSpan } | null = null; // the attempt under way (its trace span)
    const finish = (o: Omit<RequestOutcome, 't0' | 'attempts'>) => {
      if (recorded) return;
      recorded = true;
      current?.span.end({ ...o, responseModel: o.responseModel ?? null });
      const label = current ? accountLabel(current.account) : null;
      const conversationId = plan?.request.threadId ?? null;
      this.recorder.record(input, requested, {
        ...o,
        attempts: run.attempts,
        t0,
        upstreamModel: plan?.request.model ?? null,
        accountLabel: label,
        conversationId,
      });
    };
    let settled = false;
    let plan: Plan | null = null;
    const settle = (tokens: number, counts?: TokenCounts): Promise<void> => {
      if (settled || !plan) return Promise.resolve();
      settled = true;
      return plan.admission.settle(tokens, counts);
    };
    let accountId: string | null = null;
    let askedId: string | null = null;
    try {
      plan = await prepare();
      // Stickiness: the account that issued the turn state, then the caller's preference, then the conversation.
      const turnAccount = await boundTurnAccount(this.pool, input.auth.userId, plan.request);
      const preferred = turnAccount || input.preferAccountId || plan.store?.preferAccountId || null;
      while (run.attempts < this.config.POOL_MAX_ATTEMPTS) {
        const account = await this.failover.next(run, plan.request.threadId, preferred);
        const span = this.tracing.startAttempt({
          attempt: run.attempts,
          accountId: account.id,
          accountLabel: accountLabel(account),
          model: plan.request.model,
          endpoint: input.endpoint,
        });
        current = { account, span };
        askedId = account.id;
        // Items another account minted are rewritten for this one; a refusal of them anyway is retried once
        // here without any account-bound item, before anything reached the client.
        const request = forAccount(plan.request, account.id, turnAccount);
        let result = await this.attempt.send(
          account,
          await this.opaque.requestFor(request, plan.portable, account.id),
          controller.signal,
        );
        if ('error' in result && result.error.code === 'invalid_encrypted_content' && plan.portable)
          result = await this.attempt.send(
            account,
            this.opaque.stripped(request, plan.portable),
            controller.signal,
          );
        if ('error' in result) {
          span.end({ errorClass: result.error.code ?? result.error.type, status: result.error.httpStatus });
          this.failover.failed(run, result);
          continue;
        }
        accountId = account.id;
        const served: Served = {
          input,
          plan,
          run,
          account,
          res: result.res,
          t0,
          controller,
          detach,
          settle,
          finish,
        };
        const out = await accept(served);
        if (out !== NEXT_ACCOUNT) return out;
        span.end({ errorClass: 'failed_before_output' });
        accountId = null;
      }
      throw (
        run.last ??
        ApiError.unavailable('No subscription account could serve the request.', 'no_healthy_account')
      );
    } catch (err) {
      detach();
      if (input.signal.aborted && plan && askedId) {
        // The client went away after its request was sent upstream (before or while the answer came): the
        // input is charged, as for an aborted stream with nothing relayed, in the usage row and the limits alike.
        const tokens = plan.inputEstimate;
        await settle(tokens).catch(() => {});
        finish({
          status: 499,
          errorClass: 'client_aborted',
          accountId: accountId ?? askedId,
          ttfbMs: null,
          usage: { input_tokens: tokens, output_tokens: 0, total_tokens: tokens },
        });
        throw ApiError.clientClosed();
      }
      await settle(0).catch(() => {});
      finish({
        status: err instanceof ApiError ? err.httpStatus : 500,
        errorClass: err instanceof ApiError ? (err.code ?? err.type) : 'internal',
        accountId,
        ttfbMs: null,
      });
      if (controller.signal.aborted && !(err instanceof ApiError)) throw ApiError.clientClosed();
      throw err;
    }
  }

  /** Alias resolution, Codex normalisation, allow-list and limits: everything decided before any upstream call. */
  private async prepare(input: OpenInput): Promise<Plan> {
    let resolved = await this.models.resolveAlias(input.body);
    let store: Plan['store'];
    if (input.endpoint === 'responses') {
      const expanded = await this.store.expand(input.auth, resolved);
      resolved = expanded.body;
      store = { ticket: expanded.ticket, preferAccountId: expanded.preferAccountId };
    }
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
    // size known, the limits check and the conversation lookup are one Redis round trip apart, not two. The
    // client's max_output_tokens does not size it: the upstream refuses the cap (issue 22, item 3).
    const output = DEFAULT_OUTPUT_ESTIMATE;
    const early =
      input.bodyBytes !== undefined
        ? this.limits.admit(input.auth, input.bodyBytes / 4 + output, {
            model,
            inputTokens: input.bodyBytes / 4,
            outputTokens: output,
          })
        : null;
    early?.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    // One conversation id per (user, client conversation key): the CLI's thread id, sent as prompt_cache_key too.
    // It keys stickiness too (bounded, per user; the client's string is never a Redis key).
    const conversation = await this.conversations.resolve(input.auth, body);
    body.prompt_cache_key = conversation.id;
    const payload = JSON.stringify(orderLikeCli(body));
    const inputEstimate = Math.ceil(payload.length / 4);
    const portable = this.opaque.portable(body.input, (items) =>
      JSON.stringify(orderLikeCli({ ...body, input: items })),
    );
    const admission = await (early ??
      this.limits.admit(input.auth, inputEstimate + output, {
        model,
        inputTokens: inputEstimate,
        outputTokens: output,
      }));
    return {
      request: {
        model,
        threadId: conversation.id,
        payload,
        turnState: input.codex?.turnState || null,
        betaFeatures: input.codex?.betaFeatures,
      },
      admission,
      inputEstimate,
      newInputEstimate: newInputTokens(body.input),
      portable,
      store,
    };
  }

  /**
   * An answered stream attempt: metered, and held (with the client's status line and headers) until the first
   * event that carries output, or the terminal one: a usage/rate-limit `response.failed` before any output then
   * fails over to the next account invisibly, as an HTTP 429 would.
   */
  private async startStream(s: Served): Promise<OpenedStream | typeof NEXT_ACCOUNT> {
    const { account, res, plan, input } = s;
    // In-flight count + the conversation's sticky account (the last attempt's wins): not awaited, the commands
    // go out in order on the one connection, so the matching end() can never overtake them.
    // Counted at its estimated cost while it runs (accounts/pool/pending.ts), corrected to its usage at the end.
    const cost = this.pool.turnCost(account, plan.inputEstimate, plan.newInputEstimate);
    void this.pool.begin(account.id, plan.request.threadId, cost).catch(() => {});
    this.metrics.inflight.inc();
    // While the answer is held, a failed attempt must leave no usage row and no settlement.
    let discarded = false;
    const upstreamAt = Date.now();
    const stream = this.metered.read({
      res,
      account,
      t0: s.t0,
      inputEstimate: plan.inputEstimate,
      clientSignal: input.signal,
      signal: s.controller.signal,
      requestedModel: plan.request.model,
      onEnd: async (end) => {
        this.metrics.inflight.dec();
        const served = discarded
          ? 0
          : this.pool.servedCost(plan.inputEstimate, end.usage ? usageCounts(end.usage) : null, cost);
        void this.pool.end(account.id, cost, served).catch(() => {});
        if (discarded) return;
        s.detach();
        s.finish({
          status: 200,
          errorClass: end.errorClass,
          accountId: account.id,
          ttfbMs: end.ttfbMs,
          usage: end.usage,
          responseModel: end.model,
        });
        await s.settle(end.tokens, end.usage ? usageCounts(end.usage) : undefined).catch(() => {});
      },
    });
    const held: HeldEvents = { events: [], broken: false };
    if (this.config.HOLD_HEADERS_UNTIL_OUTPUT) {
      const failed = await holdUntilOutput(stream, held);
      if (failed) {
        discarded = true;
        await stream.return(undefined);
        this.logger.warn(
          { account: account.label, code: failed.code, errorClass: failed.errorClass },
          'upstream failed before any output (response.failed)',
        );
        this.failover.failed(s.run, { ...(await this.failover.afterFailure(account, failed)), final: false });
        return NEXT_ACCOUNT;
      }
      this.metrics.headerHold.observe((Date.now() - upstreamAt) / 1000);
    }
    const issuedTurnState = headerValue(res.headers['x-codex-turn-state']);
    // Not awaited either: the client cannot send the next request of the turn before it has this answer.
    if (issuedTurnState)
      void stickTurn(this.pool, input.auth.userId, issuedTurnState, account.id).catch(() => {});
    return {
      accountId: account.id,
      headers: plan.admission.headers,
      events: this.recorded(replay(held, stream), plan, account.id),
      abort: () => s.controller.abort(),
      turnState: issuedTurnState,
    };
  }

  /** The events, recording who minted account-bound items and (for /v1/responses) the completed response. */
  private recorded(
    events: AsyncIterable<UpstreamEvent>,
    plan: Plan,
    accountId: string,
  ): AsyncIterable<UpstreamEvent> {
    const minted = recordMinted(events, (items) => this.opaque.record(accountId, items));
    const store = plan.store;
    if (!store) return minted;
    return captureCompleted(minted, (responseId, output) =>
      this.store.save(store.ticket, responseId, output, accountId),
    );
  }

  /**
   * Alias resolution, the parameter table (screenCompaction), the allow-list, the per-user conversation id as
   * prompt_cache_key, and limits reserved for the input and the answer, as for open().
   */
  private async prepareCompact(input: OpenInput): Promise<Plan> {
    const requested = typeof input.body.model === 'string' ? input.body.model : 'unknown';
    const { body, dropped } = screenCompaction(await this.models.resolveAlias(input.body));
    if (dropped.length)
      this.logger.debug({ reqId: input.requestId, dropped }, 'dropped client parameters (compaction)');
    if (!isModelAllowed(input.auth.allowedModels, requested))
      throw ApiError.forbidden(
        `This key is not allowed to use the model '${requested}'.`,
        'model_not_allowed',
      );
    const conversation = await this.conversations.resolve(input.auth, body);
    body.prompt_cache_key = conversation.id;
    const payload = JSON.stringify(body);
    const inputEstimate = Math.ceil(payload.length / 4);
    const admission = await this.limits.admit(input.auth, inputEstimate + DEFAULT_OUTPUT_ESTIMATE, {
      model: body.model,
      inputTokens: inputEstimate,
      outputTokens: DEFAULT_OUTPUT_ESTIMATE,
    });
    return {
      request: {
        model: body.model,
        threadId: conversation.id,
        payload,
        path: '/responses/compact',
        accept: 'application/json',
        turnState: input.codex?.turnState || null,
        betaFeatures: input.codex?.betaFeatures ?? 'remote_compaction_v2',
      },
      admission,
      inputEstimate,
      newInputEstimate: newInputTokens(body.input),
      portable: this.opaque.portable(body.input, (items) => JSON.stringify({ ...body, input: items })),
    };
  }

  /** An answered compaction: stickiness, the JSON answer, settlement and the usage row. */
  private async readCompaction(
    s: Served,
  ): Promise<{ body: unknown; headers: Record<string, string>; turnState: string | null }> {
    const { account, res, plan, input } = s;
    await this.pool.stick(plan.request.threadId, account.id);
    const issued = headerValue(res.headers['x-codex-turn-state']);
    if (issued) await stickTurn(this.pool, input.auth.userId, issued, account.id);
    const json = parseCompaction(await res.body.text());
    this.opaque.record(account.id, json.output);
    const usage = compactionUsage(json, plan.inputEstimate);
    await s.settle(Number(usage.total_tokens ?? 0), usageCounts(usage)).catch(() => {});
    s.detach();
    s.finish({ status: 200, errorClass: null, accountId: account.id, ttfbMs: Date.now() - s.t0, usage });
    return { body: json, headers: plan.admission.headers, turnState: issued };
  }
}
