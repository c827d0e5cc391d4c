import { ApiError } from '../common/errors.js';
import { createHash } from 'node:crypto';
import { screenParams } from '../upstream/params.js';
import type { ChatMeta, Json } from './chat.types.js';

/**
 * Chat Completions request → Responses request (as a client would send it to OpenAI). The Codex-specific
 * normalisation (stream/store/instructions/include, stripping unsupported fields) happens afterwards in the
 * upstream module, for /v1/responses and chat alike. Pure: throws ApiError 400 naming the parameter.
 * Decisions per parameter: src/upstream/params.ts (documented in docs/parameters.md).
 */
export interface MappedChatRequest {
  body: Json;
  meta: ChatMeta;
  /** Client fields dropped by the parameter table (logged at debug by the caller). */
  dropped: string[];
}

const bad = (message: string, param: string, code = 'invalid_value') =>
  ApiError.badRequest(message, param, code);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mapChatRequest(req: unknown, opts: { reasoningContent: boolean }): MappedChatRequest {
  if (!isObj(req))
    throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
  if (typeof req.model !== 'string' || req.model.trim() === '') {
    throw bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  if (!Array.isArray(req.messages) || req.messages.length === 0) {
    throw bad(
      Array.isArray(req.messages)
        ? "'messages' must contain at least one message."
        : "Missing required parameter: 'messages'.",
      'messages',
      Array.isArray(req.messages) ? 'invalid_value' : 'missing_required_parameter',
    );
  }
  const screened = screenParams(req, 'chat');
  if (screened.refused) {
    const { param, message } = screened.refused;
    throw bad(`Unsupported value for '${param}': ${message}`, param, 'unsupported_value');
  }
  if (req.stream !== undefined && req.stream !== null && typeof req.stream !== 'boolean') {
    throw bad("'stream' must be a boolean.", 'stream');
  }

  const input = mapMessages(req.messages);
  // A tool output without a matching call makes the backend answer 400 ("No tool call found…"): drop it.
  const calls = new Set<string>();
  const orphans: string[] = [];
  const kept = input.filter((item, i) => {
    if (item.type === 'function_call' || item.type === 'custom_tool_call') calls.add(String(item.call_id));
    if (
      (item.type === 'function_call_output' || item.type === 'custom_tool_call_output') &&
      !calls.has(String(item.call_id))
    ) {
      orphans.push(`orphan tool output (input[${i}], call_id ${String(item.call_id).slice(0, 64)})`);
      return false;
    }
    return true;
  });
  const body: Json = { model: req.model, input: kept };
  const tools = mapTools(req.tools, req.functions);
  if (tools) body.tools = tools;
  const toolChoice = mapToolChoice(
    req.tool_choice ?? req.function_call,
    req.tool_choice !== undefined ? 'tool_choice' : 'function_call',
  );
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (req.parallel_tool_calls !== undefined && req.parallel_tool_calls !== null) {
    if (typeof req.parallel_tool_calls !== 'boolean')
      throw bad("'parallel_tool_calls' must be a boolean.", 'parallel_tool_calls');
    body.parallel_tool_calls = req.parallel_tool_calls;
  }
  const text: Json = {};
  const format = mapResponseFormat(req.response_format);
  if (format) text.format = format;
  if (req.verbosity !== undefined && req.verbosity !== null) {
    if (!['low', 'medium', 'high'].includes(req.verbosity))
      throw bad("'verbosity' must be low, medium or high.", 'verbosity');
    text.verbosity = req.verbosity;
  }
  if (Object.keys(text).length) body.text = text;
  const reasoning: Json = {};
  if (req.reasoning_effort !== undefined && req.reasoning_effort !== null) {
    if (typeof req.reasoning_effort !== 'string')
      throw bad("'reasoning_effort' must be a string.", 'reasoning_effort');
    reasoning.effort = req.reasoning_effort;
  }
  // Without summary:"auto" the backend sends no reasoning summary to turn into reasoning_content.
  if (opts.reasoningContent) reasoning.summary = 'auto';
  if (Object.keys(reasoning).length) body.reasoning = reasoning;
  if (typeof req.prompt_cache_key === 'string' && req.prompt_cache_key)
    body.prompt_cache_key = req.prompt_cache_key;
  if (typeof req.service_tier === 'string') body.service_tier = req.service_tier;

  const toolNames = shortenToolNames(body);
  const streamOptions = isObj(req.stream_options) ? req.stream_options : {};
  return {
    body,
    dropped: [...screened.dropped, ...orphans],
    meta: {
      model: req.model,
      stream: req.stream === true,
      includeUsage: req.stream === true && streamOptions.include_usage === true,
      stop: (typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop : []).filter(
        (x: unknown): x is string => typeof x === 'string' && x.length > 0,
      ),
      reasoningContent: opts.reasoningContent,
      ...(Object.keys(toolNames).length ? { toolNames } : {}),
    },
  };
}

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content))
    throw bad('Message content must be a string or an array of content parts.', param);
  return content
    .map((p, j) => {
      if (isObj(p) && p.type === 'text' && typeof p.text === 'string') return p.text;
      throw bad('Only text content parts are allowed here.', `${param}[${j}].type`, 'unsupported_value');
    })
    .join('');
}

function mapUserContent(content: unknown, param: string): Json[] {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  if (!Array.isArray(content))
    throw bad('Message content must be a string or an array of content parts.', param);
  return content.map((p, j) => {
    const at = `${param}[${j}]`;
    if (!isObj(p)) throw bad('Each content part must be an object.', at);
    switch (p.type) {
      case 'text':
        if (typeof p.text !== 'string') throw bad("A text part needs a string 'text'.", `${at}.text`);
        return { type: 'input_text', text: p.text };
      case 'image_url': {
        const img = typeof p.image_url === 'string' ? { url: p.image_url } : p.image_url;
        if (!isObj(img) || typeof img.url !== 'string' || !img.url) {
          throw bad("An image_url part needs 'image_url.url'.", `${at}.image_url.url`);
        }
        const detail = img.detail ?? 'auto';
        if (!['auto', 'low', 'high'].includes(detail))
          throw bad("'detail' must be auto, low or high.", `${at}.image_url.detail`);
        return { type: 'input_image', image_url: img.url, detail };
      }
      case 'file': {
        const f = p.file;
        if (isObj(f) && typeof f.file_data === 'string') {
          return {
            type: 'input_file',
            file_data: f.file_data,
            ...(f.filename ? { filename: f.filename } : {}),
          };
        }
        throw bad(
          'Only inline files (file.file_data) are supported: there is no Files API behind a subscription.',
          `${at}.file`,
          'unsupported_value',
        );
      }
      case 'input_audio':
        throw bad('Audio input is not supported by the upstream.', `${at}.type`, 'unsupported_value');
      default:
        throw bad(`Unsupported content part type '${String(p.type)}'.`, `${at}.type`, 'unsupported_value');
    }
  });
}

function mapMessages(messages: unknown[]): Json[] {
  const input: Json[] = [];
  // Legacy `function_call` messages have no id: synthesise one and pair the following `function` result by name.
  const legacyIds = new Map<string, string>();
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObj(m)) throw bad('Each message must be an object.', at);
    switch (m.role) {
      case 'system':
      case 'developer':
        input.push({
          type: 'message',
          role: 'developer',
          content: [{ type: 'input_text', text: textOf(m.content, `${at}.content`) }],
        });
        break;
      case 'user':
        input.push({ type: 'message', role: 'user', content: mapUserContent(m.content, `${at}.content`) });
        break;
      case 'assistant': {
        const parts: Json[] = [];
        if (typeof m.content === 'string' && m.content !== '')
          parts.push({ type: 'output_text', text: m.content });
        else if (Array.isArray(m.content)) {
          m.content.forEach((p: unknown, j: number) => {
            if (isObj(p) && p.type === 'text' && typeof p.text === 'string')
              parts.push({ type: 'output_text', text: p.text });
            else if (isObj(p) && p.type === 'refusal' && typeof p.refusal === 'string')
              parts.push({ type: 'refusal', refusal: p.refusal });
            else
              throw bad(
                'Assistant content parts must be text or refusal.',
                `${at}.content[${j}].type`,
                'unsupported_value',
              );
          });
        }
        if (typeof m.refusal === 'string' && m.refusal) parts.push({ type: 'refusal', refusal: m.refusal });
        // No empty assistant message before tool calls: the backend pairs call_ids with the items that follow.
        if (parts.length) input.push({ type: 'message', role: 'assistant', content: parts });
        if (Array.isArray(m.tool_calls)) {
          m.tool_calls.forEach((tc: unknown, j: number) => {
            const tat = `${at}.tool_calls[${j}]`;
            if (!isObj(tc)) throw bad('Each tool call must be an object.', tat);
            if (tc.type === 'custom' && isObj(tc.custom)) {
              input.push({
                type: 'custom_tool_call',
                call_id: String(tc.id ?? `call_${i}_${j}`),
                name: tc.custom.name,
                input: String(tc.custom.input ?? ''),
              });
              return;
            }
            if (!isObj(tc.function) || typeof tc.function.name !== 'string')
              throw bad("A tool call needs 'function.name'.", `${tat}.function.name`);
            const args = tc.function.arguments;
            input.push({
              type: 'function_call',
              call_id: typeof tc.id === 'string' && tc.id ? tc.id : `call_${i}_${j}`,
              name: tc.function.name,
              arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
            });
          });
        } else if (isObj(m.function_call) && typeof m.function_call.name === 'string') {
          const callId = `call_legacy_${i}`;
          legacyIds.set(m.function_call.name, callId);
          input.push({
            type: 'function_call',
            call_id: callId,
            name: m.function_call.name,
            arguments: String(m.function_call.arguments ?? '{}'),
          });
        }
        break;
      }
      case 'tool':
        if (typeof m.tool_call_id !== 'string' || !m.tool_call_id)
          throw bad(
            "A tool message needs 'tool_call_id'.",
            `${at}.tool_call_id`,
            'missing_required_parameter',
          );
        input.push({
          type: 'function_call_output',
          call_id: m.tool_call_id,
          output: textOf(m.content, `${at}.content`),
        });
        break;
      case 'function': {
        const callId = typeof m.name === 'string' ? legacyIds.get(m.name) : undefined;
        if (!callId)
          throw bad(
            'A function message must follow an assistant function_call with the same name.',
            `${at}.name`,
          );
        input.push({
          type: 'function_call_output',
          call_id: callId,
          output: textOf(m.content, `${at}.content`),
        });
        break;
      }
      default:
        throw bad(
          `Invalid role '${String(m.role)}': expected system, developer, user, assistant, tool or function.`,
          `${at}.role`,
        );
    }
  });
  return input;
}

function mapFunctionTool(fn: unknown, at: string): Json {
  if (!isObj(fn) || typeof fn.name !== 'string' || !fn.name)
    throw bad("A function tool needs 'name'.", `${at}.name`);
  return {
    type: 'function',
    name: fn.name,
    ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
    // An omitted schema means "no parameters"; an omitted strict must stay non-strict (Responses defaults to strict).
    parameters: isObj(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    strict: fn.strict === true,
  };
}

function mapTools(tools: unknown, functions: unknown): Json[] | undefined {
  const out: Json[] = [];
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) throw bad("'tools' must be an array.", 'tools');
    tools.forEach((t, i) => {
      const at = `tools[${i}]`;
      if (!isObj(t)) throw bad('Each tool must be an object.', at);
      if (t.type === 'function') out.push(mapFunctionTool(t.function, `${at}.function`));
      else if (t.type === 'custom' && isObj(t.custom) && typeof t.custom.name === 'string') {
        out.push({
          type: 'custom',
          name: t.custom.name,
          ...(t.custom.description ? { description: t.custom.description } : {}),
          ...(t.custom.format ? { format: t.custom.format } : {}),
        });
      } else throw bad(`Unsupported tool type '${String(t.type)}'.`, `${at}.type`, 'unsupported_value');
    });
  }
  if (functions !== undefined && functions !== null) {
    if (!Array.isArray(functions)) throw bad("'functions' must be an array.", 'functions');
    functions.forEach((f, i) => out.push(mapFunctionTool(f, `functions[${i}]`)));
  }
  return out.length ? out : undefined;
}

function mapToolChoice(choice: unknown, param: string): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  if (isObj(choice)) {
    if (param === 'function_call' && typeof choice.name === 'string')
      return { type: 'function', name: choice.name };
    if (choice.type === 'function' && isObj(choice.function) && typeof choice.function.name === 'string') {
      return { type: 'function', name: choice.function.name };
    }
    if (choice.type === 'custom' && isObj(choice.custom) && typeof choice.custom.name === 'string') {
      return { type: 'custom', name: choice.custom.name };
    }
    if (
      choice.type === 'allowed_tools' &&
      isObj(choice.allowed_tools) &&
      Array.isArray(choice.allowed_tools.tools)
    ) {
      return {
        type: 'allowed_tools',
        mode: choice.allowed_tools.mode ?? 'auto',
        tools: choice.allowed_tools.tools.map((t: Json) =>
          t?.type === 'function' && isObj(t.function) ? { type: 'function', name: t.function.name } : t,
        ),
      };
    }
  }
  throw bad(`Invalid '${param}': expected none, auto, required or a specific function.`, param);
}

function mapResponseFormat(rf: unknown): Json | undefined {
  if (rf === undefined || rf === null) return undefined;
  if (!isObj(rf)) throw bad("'response_format' must be an object.", 'response_format');
  switch (rf.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const js = rf.json_schema;
      if (!isObj(js) || typeof js.name !== 'string' || !js.name) {
        throw bad(
          "'response_format.json_schema.name' is required.",
          'response_format.json_schema.name',
          'missing_required_parameter',
        );
      }
      return {
        type: 'json_schema',
        name: js.name,
        ...(typeof js.description === 'string' ? { description: js.description } : {}),
        schema: isObj(js.schema) ? js.schema : { type: 'object', properties: {} },
        strict: js.strict === true,
      };
    }
    default:
      throw bad(
        `Unsupported response_format type '${String(rf.type)}'.`,
        'response_format.type',
        'unsupported_value',
      );
  }
}

/** Longest tool name the API accepts (Chat spec: 64 characters). */
const MAX_TOOL_NAME = 64;

/** A name over 64 characters → its first 55 characters, `_`, 8 hex of its SHA-256 (stable, unique in practice). */
export function shortToolName(name: string): string {
  if (name.length <= MAX_TOOL_NAME) return name;
  return `${name.slice(0, MAX_TOOL_NAME - 9)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * Shortens every tool name over 64 characters (long MCP names) wherever the Responses body names a tool: tool
 * definitions, tool_choice, replayed calls. Returns short → original, which the answer translator uses to give the
 * client its own names back.
 */
function shortenToolNames(body: Json): Record<string, string> {
  const map: Record<string, string> = {};
  const fix = (o: Json | undefined) => {
    if (!o || typeof o.name !== 'string' || o.name.length <= MAX_TOOL_NAME) return;
    const short = shortToolName(o.name);
    map[short] = o.name;
    o.name = short;
  };
  for (const t of body.tools ?? []) fix(t);
  if (isObj(body.tool_choice)) {
    fix(body.tool_choice);
    for (const t of body.tool_choice.tools ?? []) fix(t);
  }
  for (const item of body.input ?? [])
    if (item.type === 'function_call' || item.type === 'custom_tool_call') fix(item);
  return map;
}
