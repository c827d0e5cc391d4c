import { ApiError } from '../common/errors.js';

/**
 * A Responses API request as clients send it to OpenAI → the body the Codex backend accepts (docs/upstream-protocol.md §4).
 * One place for every upstream body rule, shared by /v1/responses and /v1/chat/completions:
 * - `stream: true`, `store: false` always (the backend refuses anything else; the gateway shapes the answer);
 * - `instructions` always present and "" — the client's instructions become a developer message at the head of
 *   `input` (the policy docs/upstream-protocol.md §4 gives; real-backend reports disagree on the key, so it stays in one place);
 * - string `input` becomes one user message; replayed `function_call` items lose their item `id`;
 * - function tools without `strict` get `strict: false` (Responses would otherwise force strict schemas);
 * - `include: ["reasoning.encrypted_content"]` when reasoning is on;
 * - parameters the backend refuses are removed and reported in `dropped` (logged at debug by the caller);
 * - `previous_response_id` is refused: the backend stores nothing, so the reference could not be resolved.
 */
export const UNSUPPORTED_PARAMS = [
  'max_output_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'user',
  'metadata',
  'stream_options',
  'safety_identifier',
  'prompt_cache_retention',
  'background',
  'truncation',
  'top_logprobs',
] as const;

export interface NormalizedRequest {
  body: Record<string, any>;
  model: string;
  dropped: string[];
}

const isObj = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function normalizeForCodex(req: unknown): NormalizedRequest {
  if (!isObj(req))
    throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
  if (typeof req.model !== 'string' || !req.model.trim()) {
    throw ApiError.badRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  if (req.previous_response_id !== undefined && req.previous_response_id !== null) {
    throw ApiError.badRequest(
      "'previous_response_id' is not supported: the upstream stores no responses. Send the whole conversation in 'input'.",
      'previous_response_id',
      'unsupported_parameter',
    );
  }
  if (req.input === undefined || req.input === null) {
    throw ApiError.badRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  const body: Record<string, any> = { ...req };
  const dropped: string[] = [];
  for (const p of UNSUPPORTED_PARAMS) {
    if (p in body) {
      dropped.push(p);
      delete body[p];
    }
  }
  let input: any[];
  if (typeof req.input === 'string')
    input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: req.input }] }];
  else if (Array.isArray(req.input)) input = req.input.map((item) => stripCallId(item));
  else throw ApiError.badRequest("'input' must be a string or an array of items.", 'input', 'invalid_value');
  if (req.instructions !== undefined && req.instructions !== null && typeof req.instructions !== 'string') {
    throw ApiError.badRequest("'instructions' must be a string.", 'instructions', 'invalid_value');
  }
  if (typeof req.instructions === 'string' && req.instructions.trim()) {
    input = [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: req.instructions }] },
      ...input,
    ];
  }
  body.instructions = '';
  body.input = input;
  body.stream = true;
  body.store = false;
  if (Array.isArray(req.tools)) {
    body.tools = req.tools.map((t: any) =>
      isObj(t) && t.type === 'function' && t.strict === undefined ? { ...t, strict: false } : t,
    );
  }
  if (isObj(req.reasoning) && (req.reasoning.effort || req.reasoning.summary)) {
    const include = new Set<string>(Array.isArray(req.include) ? req.include : []);
    include.add('reasoning.encrypted_content');
    body.include = [...include];
  }
  return { body, model: req.model, dropped };
}

function stripCallId(item: unknown): unknown {
  if (isObj(item) && item.type === 'function_call' && 'id' in item) {
    const { id: _id, ...rest } = item;
    return rest;
  }
  return item;
}
