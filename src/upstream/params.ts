/**
 * The fate of every client request field, for /v1/responses and /v1/chat/completions, in one table
 * (docs/parameters.md is this table in prose; a unit test keeps the two in step).
 *   pass   – forwarded upstream as the client sent it (the Codex CLI sends it too)
 *   map    – translated or rewritten by the gateway before it goes upstream (see `why`)
 *   local  – honoured by the gateway itself, never sent upstream
 *   drop   – removed with a debug log: the backend refuses it, or the CLI never sends it, and dropping it cannot
 *            change what the answer means
 *   refuse – 400 naming the parameter when set to a value the gateway cannot honour (`check` says which)
 * A field that is not in the table (vendor extras such as `top_k`) is dropped with a debug log: nothing the
 * Codex CLI would not send reaches the upstream unless this table lets it through.
 * `null` for an endpoint means "not a field of that API" and is treated as unknown.
 */
export type ParamFate = 'pass' | 'map' | 'local' | 'drop' | 'refuse';

export interface ParamRule {
  fate: ParamFate;
  why: string;
  /** For refuse (and conditional map/pass): a message when the value cannot be honoured, else null. */
  check?: (value: unknown) => string | null;
}

export interface ParamEntry {
  responses: ParamRule | null;
  chat: ParamRule | null;
}

const isSet = (v: unknown) => v !== undefined && v !== null;

/** service_tier: the CLI sends `priority` (Fast mode) and knows `flex`; `auto`/`default` mean "omit". */
export const PASSED_SERVICE_TIERS = ['priority', 'flex'];
const serviceTier: ParamRule = {
  fate: 'map',
  why: '`auto`/`default` omitted (the account default); `priority`/`flex` forwarded as the CLI sends them; others refused',
  check: (v) =>
    !isSet(v) || v === 'auto' || v === 'default' || PASSED_SERVICE_TIERS.includes(v as string)
      ? null
      : `service_tier must be auto, default, flex or priority.`,
};

const drop = (why: string): ParamRule => ({ fate: 'drop', why });
const both = (rule: ParamRule): ParamEntry => ({ responses: rule, chat: rule });

export const PARAMS: Record<string, ParamEntry> = {
  model: both({
    fate: 'map',
    why: 'model id; reasoning-effort aliases resolved by the models module',
  }),
  // ---- Responses API fields ----
  input: {
    responses: {
      fate: 'map',
      why: 'a string becomes one user message; replayed function_call items lose their item id',
    },
    chat: null,
  },
  instructions: {
    responses: {
      fate: 'map',
      why: 'becomes a developer message at the head of input; the upstream `instructions` is always ""',
    },
    chat: null,
  },
  include: {
    responses: {
      fate: 'map',
      why: 'always exactly ["reasoning.encrypted_content"] (as the CLI); `message.output_text.logprobs` refused, other values dropped',
      check: (v) =>
        Array.isArray(v) && v.includes('message.output_text.logprobs')
          ? 'logprobs are not available from the upstream.'
          : null,
    },
    chat: null,
  },
  text: {
    responses: { fate: 'pass', why: '`verbosity` and `format` as the CLI sends them' },
    chat: null,
  },
  reasoning: {
    responses: {
      fate: 'pass',
      why: '`effort` (and `summary`) as the CLI sends them; an effort the model lacks becomes the nearest it lists (`none`/`minimal` → its lowest), a non-effort is a 400',
    },
    chat: null,
  },
  max_output_tokens: {
    responses: drop('refused by the backend (`Unsupported parameter`); the answer is not capped'),
    chat: null,
  },
  truncation: { responses: drop('refused by the backend'), chat: null },
  previous_response_id: {
    responses: {
      fate: 'map',
      why: "resolved by the gateway from the responses it relayed for this key (input + output + the new input); unknown, other key's or expired ids are a 400",
    },
    chat: null,
  },
  conversation: {
    responses: {
      fate: 'refuse',
      why: 'stored conversations do not exist behind a subscription',
      check: (v) =>
        isSet(v) ? 'stored conversations are not available. Send the whole conversation in `input`.' : null,
    },
    chat: null,
  },
  prompt: {
    responses: {
      fate: 'refuse',
      why: 'stored prompt templates do not exist behind a subscription',
      check: (v) => (isSet(v) ? 'stored prompt templates are not available.' : null),
    },
    chat: null,
  },
  background: {
    responses: {
      fate: 'refuse',
      why: '`true` refused (nothing is stored to poll); `false` dropped',
      check: (v) => (v === true ? 'background responses are not available.' : null),
    },
    chat: null,
  },
  max_tool_calls: { responses: drop('not sent by the CLI; the model decides'), chat: null },
  client_metadata: { responses: drop('CLI-internal turn ids; never taken from clients'), chat: null },
  // ---- Chat Completions fields ----
  messages: { responses: null, chat: { fate: 'map', why: 'input items (see the message table)' } },
  functions: { responses: null, chat: { fate: 'map', why: 'legacy functions become function tools' } },
  function_call: { responses: null, chat: { fate: 'map', why: 'legacy form of tool_choice' } },
  response_format: {
    responses: null,
    chat: { fate: 'map', why: '`text.format` (text, json_object, json_schema with name/schema/strict)' },
  },
  reasoning_effort: {
    responses: null,
    chat: {
      fate: 'map',
      why: '`reasoning.effort` (with `summary: "auto"` for reasoning deltas); efforts mapped as `reasoning`',
    },
  },
  verbosity: { responses: null, chat: { fate: 'map', why: '`text.verbosity`' } },
  max_tokens: {
    responses: null,
    chat: drop('the backend refuses `max_output_tokens`; the answer is not capped'),
  },
  max_completion_tokens: { responses: null, chat: drop('as max_tokens') },
  logit_bias: { responses: null, chat: drop('not supported by the backend') },
  prediction: { responses: null, chat: drop('a latency optimisation only') },
  web_search_options: { responses: null, chat: drop('the web search tool is not verified on this backend') },
  moderation: { responses: null, chat: drop('not verified on this backend') },
  frequency_penalty: { responses: null, chat: drop('refused by the backend') },
  presence_penalty: { responses: null, chat: drop('refused by the backend') },
  n: {
    responses: null,
    chat: {
      fate: 'refuse',
      why: 'n > 1 refused (the upstream returns one generation); 1 accepted',
      check: (v) =>
        isSet(v) && v !== 1 ? 'Only n=1 is supported: the upstream returns one generation.' : null,
    },
  },
  logprobs: {
    responses: null,
    chat: {
      fate: 'refuse',
      why: '`true` refused (not available); `false` accepted',
      check: (v) => (v === true ? 'logprobs are not available from the upstream.' : null),
    },
  },
  stop: {
    responses: null,
    chat: {
      fate: 'local',
      why: 'up to 4 sequences: the gateway cuts the answer at the first one (finish_reason "stop")',
      check: (v) => {
        if (!isSet(v)) return null;
        const list = typeof v === 'string' ? [v] : v;
        if (!Array.isArray(list) || list.some((s) => typeof s !== 'string'))
          return 'stop must be a string or an array of strings.';
        if (list.length > 4) return 'at most 4 stop sequences are allowed.';
        return null;
      },
    },
  },
  modalities: {
    responses: null,
    chat: {
      fate: 'refuse',
      why: '["text"] accepted; audio refused',
      check: (v) =>
        Array.isArray(v) && v.some((m) => m !== 'text') ? 'Only text output is supported (no audio).' : null,
    },
  },
  audio: {
    responses: null,
    chat: {
      fate: 'refuse',
      why: 'audio output refused',
      check: (v) => (isSet(v) ? 'Audio output is not supported.' : null),
    },
  },
  // ---- Fields of both APIs ----
  stream: both({
    fate: 'local',
    why: 'the upstream always streams; the gateway streams or assembles the answer',
  }),
  stream_options: {
    responses: drop('the gateway relays the stream as it comes'),
    chat: { fate: 'local', why: '`include_usage` adds the usage chunk; other options ignored' },
  },
  store: both(drop('the backend requires `store: false` (set by the gateway); nothing is stored')),
  tools: both({
    fate: 'map',
    why: 'function tools get `strict: false` when omitted or null; tool JSON otherwise byte for byte as sent; chat tools flattened; custom tools kept; long names shortened and restored',
  }),
  tool_choice: both({
    fate: 'map',
    why: 'none/auto/required/specific tool/allowed_tools (chat form flattened)',
  }),
  parallel_tool_calls: both({ fate: 'pass', why: 'forwarded as is' }),
  prompt_cache_key: both({
    fate: 'map',
    why: 'the client conversation key: replaced by a per-user conversation id (also session-id/thread-id upstream)',
  }),
  service_tier: both(serviceTier),
  temperature: both(drop('refused by the backend; the reasoning models sample at their default')),
  top_p: both(drop('as temperature')),
  top_logprobs: both({
    fate: 'refuse',
    why: 'above 0 refused (no logprobs upstream); 0 dropped',
    check: (v) => (isSet(v) && v !== 0 ? 'top_logprobs are not available from the upstream.' : null),
  }),
  seed: both(drop('no determinism either way; the backend refuses it')),
  user: both(drop('refused by the backend; the gateway knows the user from the key')),
  safety_identifier: both(drop('refused by the backend')),
  metadata: both(drop('refused by the backend; nothing is stored')),
  prompt_cache_retention: both(drop('refused by the backend')),
};

export type Endpoint = 'responses' | 'chat';

/**
 * Applies the table to a client body: throws nothing, returns the first refusal (param + message), and the names
 * of the fields to drop (unknown ones included). The caller builds the upstream body from the rest.
 */
export function screenParams(
  body: Record<string, unknown>,
  endpoint: Endpoint,
): { refused: { param: string; message: string } | null; dropped: string[] } {
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    const rule = PARAMS[name]?.[endpoint];
    if (!rule) {
      dropped.push(name);
      continue;
    }
    const message = rule.check?.(value);
    if (message) return { refused: { param: name, message }, dropped };
    if (rule.fate === 'drop' || (rule.fate === 'refuse' && value !== undefined)) dropped.push(name);
  }
  return { refused: null, dropped };
}
