/**
 * What happens to each Chat Completions request parameter on the way to the Codex backend (Responses API).
 * The table in docs/chat-parameters.md is this list in prose; keep the two in step (a unit test checks that
 * every key here is named in the doc).
 *   mapped  – translated into the Responses request (see chat-request.mapper.ts)
 *   local   – honoured by the gateway itself
 *   ignored – accepted and dropped: the backend refuses it and dropping it cannot change what the answer means
 *   refused – 400 naming the parameter when set to a value that would change the answer (see `refuse`)
 */
export type ParamFate = 'mapped' | 'local' | 'ignored' | 'refused';

export interface ParamRule {
  fate: ParamFate;
  /** For refused/conditional params: returns a message when the value cannot be honoured, else null. */
  refuse?: (value: unknown) => string | null;
  why: string;
}

const isSet = (v: unknown) => v !== undefined && v !== null;

export const CHAT_PARAMS: Record<string, ParamRule> = {
  model: { fate: 'mapped', why: 'model id; reasoning-effort aliases resolved by the models module' },
  messages: { fate: 'mapped', why: 'input items (see the message table)' },
  stream: { fate: 'local', why: 'the upstream always streams; the gateway shapes the answer' },
  stream_options: { fate: 'local', why: '`include_usage` adds the usage chunk; other options ignored' },
  tools: { fate: 'mapped', why: 'function tools flattened, `strict: false` when omitted; custom tools kept' },
  functions: { fate: 'mapped', why: 'legacy functions become function tools' },
  tool_choice: { fate: 'mapped', why: 'none/auto/required/specific function/allowed_tools' },
  function_call: { fate: 'mapped', why: 'legacy form of tool_choice' },
  parallel_tool_calls: { fate: 'mapped', why: 'forwarded as is' },
  response_format: {
    fate: 'mapped',
    why: '`text.format` (text, json_object, json_schema with name/schema/strict)',
  },
  reasoning_effort: {
    fate: 'mapped',
    why: '`reasoning.effort` (with `summary: "auto"` for reasoning deltas)',
  },
  verbosity: { fate: 'mapped', why: '`text.verbosity`' },
  prompt_cache_key: { fate: 'mapped', why: 'forwarded; also the account stickiness key' },
  max_tokens: {
    fate: 'ignored',
    why: 'the backend refuses `max_output_tokens`; the answer is not truncated',
  },
  max_completion_tokens: { fate: 'ignored', why: 'as max_tokens' },
  temperature: { fate: 'ignored', why: 'refused by the backend; reasoning models sample at their default' },
  top_p: { fate: 'ignored', why: 'as temperature' },
  frequency_penalty: { fate: 'ignored', why: 'not supported by the backend' },
  presence_penalty: { fate: 'ignored', why: 'not supported by the backend' },
  logit_bias: { fate: 'ignored', why: 'not supported by the backend' },
  seed: { fate: 'ignored', why: 'deprecated; no determinism guarantee either way' },
  user: { fate: 'ignored', why: 'refused by the backend; the gateway knows the user from the key' },
  safety_identifier: { fate: 'ignored', why: 'refused by the backend' },
  metadata: { fate: 'ignored', why: 'refused by the backend (nothing is stored)' },
  store: { fate: 'ignored', why: 'the backend requires store=false; nothing is stored' },
  prompt_cache_retention: { fate: 'ignored', why: 'refused by the backend' },
  service_tier: { fate: 'ignored', why: 'subscription accounts have one tier [verify `priority`]' },
  prediction: { fate: 'ignored', why: 'a latency optimisation only' },
  web_search_options: { fate: 'ignored', why: 'web search tool not verified on this backend' },
  moderation: { fate: 'ignored', why: 'not verified on this backend' },
  n: {
    fate: 'refused',
    refuse: (v) =>
      isSet(v) && v !== 1 ? 'Only n=1 is supported: the upstream returns one generation.' : null,
    why: 'n > 1 refused',
  },
  logprobs: {
    fate: 'refused',
    refuse: (v) => (v === true ? 'logprobs are not available from the upstream.' : null),
    why: 'true refused; false ignored',
  },
  top_logprobs: {
    fate: 'refused',
    refuse: (v) => (isSet(v) && v !== 0 ? 'top_logprobs are not available from the upstream.' : null),
    why: '> 0 refused',
  },
  stop: {
    fate: 'refused',
    refuse: (v) =>
      isSet(v) && !(Array.isArray(v) && v.length === 0) && v !== ''
        ? 'Stop sequences are not supported by the upstream.'
        : null,
    why: 'refused: ignoring it would change where the answer ends',
  },
  modalities: {
    fate: 'refused',
    refuse: (v) =>
      Array.isArray(v) && v.some((m) => m !== 'text') ? 'Only text output is supported (no audio).' : null,
    why: '["text"] accepted; audio refused',
  },
  audio: {
    fate: 'refused',
    refuse: (v) => (isSet(v) ? 'Audio output is not supported.' : null),
    why: 'audio output refused',
  },
};
