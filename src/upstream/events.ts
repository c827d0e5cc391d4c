/**
 * The upstream's Responses stream events, as the gateway reads them (docs/upstream-protocol.md §5): the names, and
 * for each name the fields some part of the gateway looks at (all optional: the wire is not trusted). Types only,
 * no parsing: an event is parsed when (and if) its `data` is first read, so pass-through bytes stay pass-through.
 */

/** Event names the gateway reads. */
export const EVENT = {
  created: 'response.created',
  inProgress: 'response.in_progress',
  completed: 'response.completed',
  incomplete: 'response.incomplete',
  failed: 'response.failed',
  outputItemAdded: 'response.output_item.added',
  outputItemDone: 'response.output_item.done',
  outputTextDelta: 'response.output_text.delta',
  refusalDelta: 'response.refusal.delta',
  reasoningSummaryPartAdded: 'response.reasoning_summary_part.added',
  reasoningSummaryTextDelta: 'response.reasoning_summary_text.delta',
  reasoningTextDelta: 'response.reasoning_text.delta',
  customToolInputDelta: 'response.custom_tool_call_input.delta',
  customToolInputDone: 'response.custom_tool_call_input.done',
  functionArgsDelta: 'response.function_call_arguments.delta',
  functionArgsDone: 'response.function_call_arguments.done',
  error: 'error',
} as const;

/** Token counts as the upstream reports them in `response.usage` (all optional). */
export interface UpstreamUsage {
  input_tokens?: number;
  input_tokens_details?: { cached_tokens?: number };
  output_tokens?: number;
  output_tokens_details?: { reasoning_tokens?: number };
  total_tokens?: number;
}

export interface UpstreamErrorBody {
  code?: string | null;
  message?: string;
  type?: string;
  [field: string]: unknown;
}

export interface ContentPart {
  type?: string;
  text?: string;
  refusal?: string;
}

/** One output item (message, reasoning, function_call, custom_tool_call, …). */
export interface OutputItem {
  type?: string;
  id?: string;
  call_id?: string;
  name?: string;
  arguments?: string;
  input?: string;
  content?: ContentPart[];
  summary?: { text?: string }[];
  [field: string]: unknown;
}

/** The Response object the lifecycle events carry. */
export interface UpstreamResponse {
  id?: string;
  created_at?: number;
  output?: OutputItem[];
  usage?: UpstreamUsage | null;
  error?: UpstreamErrorBody | null;
  incomplete_details?: { reason?: string } | null;
  service_tier?: string;
  [field: string]: unknown;
}

export interface Lifecycle {
  response?: UpstreamResponse;
}
export interface ItemEvent {
  output_index?: number | string;
  item?: OutputItem;
}
export interface DeltaEvent {
  delta?: string;
  output_index?: number | string;
  item_id?: string;
}

/** The fields read per event name. */
export interface EventPayloads {
  'response.created': Lifecycle;
  'response.in_progress': Lifecycle;
  'response.completed': Lifecycle;
  'response.incomplete': Lifecycle;
  'response.failed': Lifecycle;
  'response.output_item.added': ItemEvent;
  'response.output_item.done': ItemEvent;
  'response.output_text.delta': DeltaEvent;
  'response.refusal.delta': DeltaEvent;
  'response.reasoning_summary_part.added': { summary_index?: number };
  'response.reasoning_summary_text.delta': DeltaEvent;
  'response.reasoning_text.delta': DeltaEvent;
  'response.custom_tool_call_input.delta': DeltaEvent;
  'response.custom_tool_call_input.done': DeltaEvent & { input?: string };
  'response.function_call_arguments.delta': DeltaEvent;
  'response.function_call_arguments.done': DeltaEvent & { arguments?: string };
  error: { message?: string; code?: string | null; error?: UpstreamErrorBody };
}

export type EventType = keyof EventPayloads;
export type EventData<T extends EventType> = EventPayloads[T];

/**
 * One upstream SSE event. `raw` is the event's SSE block as the upstream sent it (its bytes, a view into the body
 * chunk) — or, for an event the gateway wrote itself, its text — so the relay forwards pass-through events
 * without decoding or re-serialising them; `data` is parsed on first access only (a pass-through stream never
 * parses the events it merely forwards). Narrow a known name with `isEvent`.
 */
export interface UpstreamEvent<T extends string = string> {
  readonly type: T;
  readonly data: T extends EventType ? EventPayloads[T] : unknown;
  readonly raw: Buffer | string;
  /** The data field's text (the event's JSON), decoded on first call. */
  dataText?(): string;
  /** Characters of the event's `delta` string (0 when it has none), read without parsing the event. */
  deltaLength?(): number;
}

/** Narrows an event to a known name (a string comparison; nothing is parsed). */
export function isEvent<T extends EventType>(ev: UpstreamEvent, type: T): ev is UpstreamEvent<T> {
  return ev.type === type;
}

export type TerminalType = 'response.completed' | 'response.failed' | 'response.incomplete';

const TERMINAL: ReadonlySet<string> = new Set<TerminalType>([
  EVENT.completed,
  EVENT.failed,
  EVENT.incomplete,
]);
/** Events that come before any output. */
const PRELUDE: ReadonlySet<string> = new Set([EVENT.created, EVENT.inProgress]);

/** The last event of a response: completed, failed or incomplete. */
export function isTerminal(ev: UpstreamEvent): ev is UpstreamEvent<TerminalType> {
  return TERMINAL.has(ev.type);
}

export function isTerminalType(type: string): type is TerminalType {
  return TERMINAL.has(type);
}

/** response.created / response.in_progress: no output yet. */
export function isPrelude(type: string): boolean {
  return PRELUDE.has(type);
}

/** The backend's own `codex.*` events (rate limits), never relayed to clients. */
export function isCodexEvent(type: string): boolean {
  return type.startsWith('codex.');
}

/** What a `codex.*` rate-limit event carries. */
export interface CodexRateLimits {
  rate_limits?: {
    primary?: { used_percent?: unknown };
    secondary?: { used_percent?: unknown };
  };
}

/** Output deltas (`*.delta`): their `delta` string is what the client received. */
export function isDelta(type: string): boolean {
  return type.endsWith('.delta');
}
