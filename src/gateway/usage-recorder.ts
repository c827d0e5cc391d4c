import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { UsageService } from '../usage/usage.service.js';
import { ModelsService } from '../models/models.service.js';
import type { UpstreamUsage } from '../upstream/events.js';
import type { OpenInput } from './types.js';
import { PolicyGuard } from './policy-guard.js';

export interface RequestOutcome {
  status: number;
  errorClass: string | null;
  accountId: string | null;
  attempts: number;
  /** Date.now() when the request entered the pipeline. */
  t0: number;
  ttfbMs: number | null;
  usage?: UpstreamUsage | null;
  /** The model sent upstream (after alias resolution): it prices the row, as it priced the budget's admission. */
  upstreamModel?: string | null;
  /** The model the upstream says answered (traces). */
  responseModel?: string | null;
  /** The answering account's metric label and the conversation (prompt-cache metrics). */
  accountLabel?: string | null;
  conversationId?: string | null;
}

/**
 * Writes what one model request cost: one usage row (batched) and the request metrics, whatever the outcome; hands
 * the outcome to the policy guard.
 */
@Injectable()
export class UsageRecorder {
  constructor(
    private readonly usage: UsageService,
    private readonly metrics: MetricsService,
    private readonly models: ModelsService,
    private readonly policy: PolicyGuard,
  ) {}

  record(input: OpenInput, model: string, r: RequestOutcome): void {
    const u = r.usage ?? {};
    const tokens = {
      input: Number(u.input_tokens ?? 0),
      cached: Number(u.input_tokens_details?.cached_tokens ?? 0),
      output: Number(u.output_tokens ?? 0),
      reasoning: Number(u.output_tokens_details?.reasoning_tokens ?? 0),
    };
    const total = Number(u.total_tokens ?? tokens.input + tokens.output);
    const durationMs = Date.now() - r.t0;
    this.usage.record({
      requestId: input.requestId,
      keyId: input.auth.keyId,
      userId: input.auth.userId,
      accountId: r.accountId,
      model,
      pricedModel: r.upstreamModel ?? null,
      endpoint: input.endpoint,
      stream: input.clientStream,
      status: r.status,
      errorClass: r.errorClass,
      inputTokens: tokens.input,
      cachedTokens: tokens.cached,
      outputTokens: tokens.output,
      reasoningTokens: tokens.reasoning,
      totalTokens: total,
      ttfbMs: r.ttfbMs,
      durationMs,
      attempts: r.attempts,
    });
    // Content-policy refusals count against the key and its user, never against the account (policy-guard.ts).
    this.policy.observe(input.auth, r.errorClass);
    const m = this.metrics;
    // Bounded label set: only models the catalog knows (the request's name is the client's choice).
    const label = this.models.isKnown(model) ? model : 'other';
    m.requests.inc({
      endpoint: input.endpoint,
      model: label,
      status: String(r.status),
      ...m.keyLabels(input.auth.keyId, input.auth.userId),
    });
    m.duration.observe({ endpoint: input.endpoint }, durationMs / 1000);
    if (r.ttfbMs !== null) m.ttft.observe({ endpoint: input.endpoint }, r.ttfbMs / 1000);
    for (const [kind, n] of Object.entries(tokens)) if (n) m.tokens.inc({ kind, model: label }, n);
    // Prompt cache: answered requests only (an aborted stream's usage is an estimate without cache figures).
    if (r.usage && r.accountId && r.accountLabel && r.errorClass !== 'client_aborted') {
      const turn = r.conversationId ? m.cache.conversationTurn(r.conversationId, r.accountId) : null;
      m.cache.observe({
        account: r.accountLabel,
        model: label,
        inputTokens: tokens.input,
        cachedTokens: tokens.cached,
        followup: !!turn?.followup,
      });
    }
  }
}
