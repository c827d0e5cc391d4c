import { ApiError } from '../common/errors.js';
import { screenParams } from './params.js';

/**
 * A Responses API request as clients send it to OpenAI → the body the Codex backend accepts (docs/upstream-protocol.md §4).
 * One place for every upstream body rule, shared by /v1/responses and /v1/chat/completions (the chat mapper builds a
 * Responses body first). Which client fields survive is decided by the table in params.ts; on top of it:
 * - `stream: true`, `store: false` always (the backend refuses anything else; the gateway shapes the answer);
 * - `instructions` always present and "" — the client's instructions become a developer message at the head of
 *   `input` (the policy docs/upstream-protocol.md §4 gives; real-backend reports disagree on the key, so it stays in one place);
 * - string `input` becomes one user message; replayed `function_call` items lose their item `id`;
 * - function tools without `strict` get `strict: false` (Responses would otherwise force strict schemas);
 * - `include: ["reasoning.encrypted_content"]` always, as the CLI (so reasoning can be replayed with store:false);
 * - `service_tier` `auto`/`default` omitted, `priority`/`flex` kept;
 * - dropped fields are reported in `dropped` (logged at debug by the caller); refusals are 400s naming the param.
 */
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
  if (req.input === undefined || req.input === null) {
    throw ApiError.badRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  const screened = screenParams(req, 'responses');
  if (screened.refused) {
    const { param, message } = screened.refused;
    throw ApiError.badRequest(`Unsupported value for '${param}': ${message}`, param, 'unsupported_parameter');
  }
  refuseUnresolvedPrevious(req, '/v1/responses');
  const body: Record<string, any> = { ...req };
  const dropped = screened.dropped;
  for (const p of dropped) delete body[p];
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
      isObj(t) && t.type === 'function' && (t.strict === undefined || t.strict === null)
        ? { ...t, strict: false }
        : t,
    );
  }
  body.include = ['reasoning.encrypted_content'];
  if (Array.isArray(req.include)) {
    const others = req.include.filter((v: unknown) => v !== 'reasoning.encrypted_content');
    if (others.length) dropped.push(...others.map((v: unknown) => `include:${String(v)}`));
  }
  if (body.service_tier === 'auto' || body.service_tier === 'default' || body.service_tier === null)
    delete body.service_tier;
  return { body, model: req.model, dropped };
}

/**
 * The upstream stores nothing, so a `previous_response_id` must never go up. /v1/responses resolves it from the
 * gateway's response store before it gets here (gateway/response-store.ts); one still present (compaction, which
 * has no store lookup, or any path that skipped it) is a 400 naming it.
 */
function refuseUnresolvedPrevious(req: Record<string, unknown>, route: string): void {
  if (req.previous_response_id === undefined || req.previous_response_id === null) return;
  throw ApiError.badRequest(
    `Unsupported parameter: 'previous_response_id' on ${route} here. Send the conversation's items as 'input'.`,
    'previous_response_id',
    'unsupported_parameter',
  );
}

/** Fields of a streamed /responses request that mean nothing to the unary compaction endpoint. */
const NOT_FOR_COMPACTION = ['stream', 'stream_options', 'include'];

/**
 * A remote-compaction body (POST /v1/responses/compact, docs/upstream-protocol.md §8) through the same parameter
 * table as /v1/responses: refused fields are 400s naming them (`previous_response_id`, `background: true`, …),
 * dropped ones (`store`, `metadata`, `user`, unknown fields) never go upstream. The input items and
 * `instructions` go up as the CLI sent them (the endpoint takes them so); `prompt_cache_key` is set by the caller
 * to the per-user conversation id.
 */
export function screenCompaction(req: unknown): { body: Record<string, any>; dropped: string[] } {
  if (!isObj(req))
    throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
  if (typeof req.model !== 'string' || !req.model.trim())
    throw ApiError.badRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (!Array.isArray(req.input))
    throw ApiError.badRequest("'input' must be an array of items.", 'input', 'invalid_value');
  if (req.instructions !== undefined && req.instructions !== null && typeof req.instructions !== 'string')
    throw ApiError.badRequest("'instructions' must be a string.", 'instructions', 'invalid_value');
  const screened = screenParams(req, 'responses');
  if (screened.refused) {
    const { param, message } = screened.refused;
    throw ApiError.badRequest(`Unsupported value for '${param}': ${message}`, param, 'unsupported_parameter');
  }
  refuseUnresolvedPrevious(req, '/v1/responses/compact');
  const body: Record<string, any> = { ...req };
  const dropped = [...screened.dropped, ...NOT_FOR_COMPACTION.filter((k) => k in body)];
  for (const p of dropped) delete body[p];
  if (body.service_tier === 'auto' || body.service_tier === 'default' || body.service_tier === null)
    delete body.service_tier;
  return { body, dropped };
}

function stripCallId(item: unknown): unknown {
  if (isObj(item) && item.type === 'function_call' && 'id' in item) {
    const { id: _id, ...rest } = item;
    return rest;
  }
  return item;
}

/** Top-level keys in the order the Codex CLI 0.169 sends them (docs/upstream-protocol.md §4); anything else after them. */
const CLI_ORDER = [
  'model',
  'instructions',
  'stream',
  'input',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'reasoning',
  'store',
  'include',
  'service_tier',
  'prompt_cache_key',
  'text',
];

export function orderLikeCli(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CLI_ORDER) if (k in body) out[k] = body[k];
  for (const [k, v] of Object.entries(body)) if (!(k in out)) out[k] = v;
  return out;
}
