import type { AppConfig } from '../config/config.schema.js';
import { clientProfileHeaders } from './client-profile.js';

/**
 * Headers of POST {CODEX_BASE_URL}/responses, in the order the Codex CLI 0.169 sent them (docs/upstream-protocol.md
 * §4). Left out on purpose: `x-codex-beta-features` and `x-codex-turn-metadata` (CLI-internal state:
 * installation id, turn ids — nothing a gateway can fill truthfully) and `content-encoding: zstd` (optional).
 * [verify] whether the backend treats their absence differently.
 */
export interface UpstreamIdentity {
  accessToken: string;
  chatgptAccountId: string;
  /** One uuid per conversation: derived from prompt_cache_key when there is one. */
  threadId: string;
  model: string;
  /** Relayed from a Codex CLI client only: its `x-codex-turn-state` (same turn) and `x-codex-beta-features`. */
  turnState?: string | null;
  betaFeatures?: string | null;
  /** `text/event-stream` unless set (remote compaction is unary JSON). */
  accept?: string;
}

export function responsesHeaders(config: AppConfig, id: UpstreamIdentity): [string, string][] {
  const profile = clientProfileHeaders(config);
  return [
    ['version', config.CODEX_CLIENT_VERSION],
    ...(id.betaFeatures ? [['x-codex-beta-features', id.betaFeatures] as [string, string]] : []),
    ...(id.turnState ? [['x-codex-turn-state', id.turnState] as [string, string]] : []),
    ['x-codex-window-id', `${id.threadId}:0`],
    ['x-codex-routing-hint', `model=${id.model}`],
    ['x-client-request-id', id.threadId],
    ['session-id', id.threadId],
    ['thread-id', id.threadId],
    ['accept', id.accept ?? 'text/event-stream'],
    ['content-type', 'application/json'],
    ['authorization', `Bearer ${id.accessToken}`],
    ['chatgpt-account-id', id.chatgptAccountId],
    ['originator', profile.originator],
    ['user-agent', profile['user-agent']],
  ];
}

/** GET {CODEX_BASE_URL}/models (docs/upstream-protocol.md §7). */
export function modelsHeaders(
  config: AppConfig,
  accessToken: string,
  chatgptAccountId: string,
): [string, string][] {
  const profile = clientProfileHeaders(config);
  return [
    ['version', config.CODEX_CLIENT_VERSION],
    ['authorization', `Bearer ${accessToken}`],
    ['chatgpt-account-id', chatgptAccountId],
    ['originator', profile.originator],
    ['user-agent', profile['user-agent']],
    ['accept', '*/*'],
  ];
}

/**
 * GET {chatgpt base}/wham/usage (fact sheet §9.3): the CLI's backend client sends the bearer token and the
 * account id; the profile's user agent and originator go with them as on every other backend call.
 */
export function usageHeaders(
  config: AppConfig,
  accessToken: string,
  chatgptAccountId: string,
): [string, string][] {
  const profile = clientProfileHeaders(config);
  return [
    ['authorization', `Bearer ${accessToken}`],
    ['chatgpt-account-id', chatgptAccountId],
    ['originator', profile.originator],
    ['user-agent', profile['user-agent']],
    ['accept', 'application/json'],
  ];
}
