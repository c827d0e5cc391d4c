import type { RequestAuth } from '../common/auth-context.js';
import type { UpstreamEvent } from '../upstream/events.js';

/** What the pipeline gives back to a model route once an account has started answering. */
export interface OpenedStream {
  accountId: string;
  /** Rate-limit headers for the client (x-ratelimit-*). */
  headers: Record<string, string>;
  /** codex.* removed; ends after the terminal event; throws UpstreamStreamError when the stream breaks. */
  events: AsyncIterable<UpstreamEvent>;
  abort(): void;
  /** `x-codex-turn-state` the upstream sent with this answer (relayed to Codex clients). */
  turnState?: string | null;
}

/** What a model route hands to the pipeline. */
export interface OpenInput {
  auth: RequestAuth;
  body: Record<string, unknown>;
  endpoint: 'responses' | 'chat' | 'compact';
  clientStream: boolean;
  requestId: string;
  signal: AbortSignal;
  /** Codex CLI headers relayed upstream: the turn state of this turn, the beta features it advertised. */
  codex?: { turnState?: string | null; betaFeatures?: string | null };
  /** Prefer this account (a WebSocket connection keeps its account while it stays healthy). */
  preferAccountId?: string | null;
  /**
   * Size of the client's request body in bytes (Content-Length, or the WebSocket frame): lets the limits check
   * run in parallel with the conversation lookup. Without it the reservation waits for the upstream payload.
   */
  bodyBytes?: number;
  /** Client fields an endpoint mapper already dropped (chat), logged with the upstream drops. */
  dropped?: string[];
}
