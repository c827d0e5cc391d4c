import { idBytes } from '../common/random.js';
import { ApiError } from '../common/errors.js';
import { classifyFailure } from '../upstream/classify.js';
import { StopCutter } from './stop.js';
import {
  EVENT,
  type EventData,
  type EventType,
  type DeltaEvent,
  type OutputItem,
  type UpstreamResponse,
} from '../upstream/events.js';
import type { ChatChunk, ChatCompletion, ChatMeta, ChatToolCall, ChatUsage, Json } from './chat.types.js';

/**
 * Responses stream events → Chat Completions, as pure state machine (no I/O): feed it the upstream events in
 * order. In streaming mode each `push` returns what to write to the client right away (chunks, an error
 * object, or '[DONE]'); for non-streaming calls `completion()` builds the final `chat.completion` from the same
 * state. Event table: docs/upstream-protocol.md §5 and docs/parameters.md.
 */
export type StreamOutput =
  ChatChunk | { error: { message: string; type: string; param: null; code: string | null } } | '[DONE]';

interface ToolState {
  /** `function` tools carry JSON arguments; `custom` (freeform) tools carry a raw `input` string. */
  kind: 'function' | 'custom';
  index: number;
  callId: string;
  name: string;
  args: string;
  announced: boolean;
  argsSent: boolean;
}

export function newChatCompletionId(): string {
  return `chatcmpl-${idBytes(12).toString('hex')}`;
}

export function mapUsage(u: Json | undefined | null): ChatUsage {
  const input = Number(u?.input_tokens ?? 0);
  const output = Number(u?.output_tokens ?? 0);
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: Number(u?.total_tokens ?? input + output),
    prompt_tokens_details: { cached_tokens: Number(u?.input_tokens_details?.cached_tokens ?? 0) },
    completion_tokens_details: { reasoning_tokens: Number(u?.output_tokens_details?.reasoning_tokens ?? 0) },
  };
}

export class ChatTranslator {
  readonly id: string;
  private created: number;
  private roleSent = false;
  private finished = false;
  private content = '';
  private refusal = '';
  private reasoning: string[] = [];
  private readonly tools = new Map<string, ToolState>(); // by output_index and by item id
  private readonly toolOrder: ToolState[] = [];
  private usage: Json | null = null;
  private status: 'in_progress' | 'completed' | 'incomplete' | 'failed' = 'in_progress';
  private incompleteReason: string | null = null;
  private failure: { code: string | null; message: string } | null = null;
  private serviceTier: string | undefined;
  private readonly stop: StopCutter | null;

  constructor(
    private readonly meta: ChatMeta,
    id = newChatCompletionId(),
    created = Math.floor(Date.now() / 1000),
  ) {
    this.id = id;
    this.created = created;
    this.stop = StopCutter.from(meta.stop);
  }

  /** The client's own tool name (long names were shortened for the upstream). */
  private toolName(name: unknown): string {
    const n = String(name ?? '');
    return this.meta.toolNames?.[n] ?? n;
  }

  /** A tool-call delta chunk in the shape of the call's kind ('function' forces the function shape). */
  private argsDelta(t: ToolState, piece: string, shape: ArgsShape = 'call'): Json {
    return t.kind === 'custom' && shape === 'call'
      ? { tool_calls: [{ index: t.index, custom: { input: piece } }] }
      : { tool_calls: [{ index: t.index, function: { arguments: piece } }] };
  }

  /** Whether a stop sequence ended the answer (the caller stops reading the upstream). */
  get stopped(): boolean {
    return this.stop?.stopped ?? false;
  }

  /** Text content through the stop sequences; ends the answer when one appears. */
  private text(delta: string, out: StreamOutput[]): StreamOutput[] {
    const send = this.stop ? this.stop.push(delta) : delta;
    if (send) {
      this.content += send;
      this.withRole(out).push(this.chunk({ content: send }));
    }
    if (this.stop?.stopped) return this.terminal('completed', {}, out);
    return out;
  }

  get done(): boolean {
    return this.finished;
  }

  private chunk(delta: Json, finishReason: string | null = null): ChatChunk {
    const c: ChatChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (this.meta.includeUsage) c.usage = null;
    return c;
  }

  /** The role chunk precedes any content, even if response.created never came. */
  private withRole(out: StreamOutput[]): StreamOutput[] {
    if (!this.roleSent) {
      this.roleSent = true;
      out.push(this.chunk({ role: 'assistant' }));
    }
    return out;
  }

  private tool(data: { output_index?: number | string; item_id?: string }): ToolState | undefined {
    return (
      this.tools.get(`o${data.output_index}`) ??
      (data.item_id ? this.tools.get(`i${data.item_id}`) : undefined)
    );
  }

  private addTool(item: OutputItem, outputIndex: unknown): ToolState {
    const t: ToolState = {
      index: this.toolOrder.length,
      callId: String(item.call_id ?? item.id ?? `call_${this.toolOrder.length}`),
      kind: item.type === 'custom_tool_call' ? 'custom' : 'function',
      name: this.toolName(item.name),
      args: '',
      announced: false,
      argsSent: false,
    };
    this.toolOrder.push(t);
    this.tools.set(`o${outputIndex}`, t);
    if (item.id) this.tools.set(`i${item.id}`, t);
    return t;
  }

  /** Feeds one upstream event; returns what to send to a streaming client now. */
  push(type: string, event: unknown): StreamOutput[] {
    const out: StreamOutput[] = [];
    if (this.finished) {
      // Cut by a stop sequence: the rest of the answer is not shown, but its usage is still the real one.
      if (this.stopped && (type === EVENT.completed || type === EVENT.incomplete))
        this.usage = (event as EventData<'response.completed'>).response?.usage ?? this.usage;
      return out;
    }
    // response.in_progress, content_part.*, *.done without new data, unknown and codex.* events have no handler.
    const handle = ChatTranslator.handlers[type as EventType] as Handler<EventType> | undefined;
    return handle ? handle(this, event as never, out) : out;
  }

  /** One small handler per event kind the translation reads (docs/upstream-protocol.md §5). */
  private static readonly handlers: { [T in EventType]?: Handler<T> } = {
    [EVENT.created]: (t, d, out) => t.onCreated(d, out),
    [EVENT.outputTextDelta]: (t, d, out) => (d.delta ? t.text(d.delta, out) : out),
    [EVENT.refusalDelta]: (t, d, out) => t.onRefusalDelta(d, out),
    [EVENT.reasoningSummaryPartAdded]: (t, d, out) => t.onSummaryPart(d, out),
    [EVENT.reasoningSummaryTextDelta]: (t, d, out) => t.onReasoningDelta(d, out),
    [EVENT.reasoningTextDelta]: (t, d, out) => t.onReasoningDelta(d, out),
    [EVENT.customToolInputDelta]: (t, d, out) => t.onToolInputDelta(d, out, 'call'),
    [EVENT.customToolInputDone]: (t, d, out) => t.onToolInputDone(d, d.input, out, 'call'),
    [EVENT.outputItemAdded]: (t, d, out) => t.onItemAdded(d, out),
    [EVENT.functionArgsDelta]: (t, d, out) => t.onToolInputDelta(d, out, 'function'),
    [EVENT.functionArgsDone]: (t, d, out) => t.onToolInputDone(d, d.arguments, out, 'function'),
    [EVENT.outputItemDone]: (t, d, out) => (t.itemDone(d, out), out),
    [EVENT.completed]: (t, d, out) => t.terminal('completed', d.response ?? {}, out),
    [EVENT.incomplete]: (t, d, out) => t.terminal('incomplete', d.response ?? {}, out),
    [EVENT.failed]: (t, d) => t.onFailed(d),
    [EVENT.error]: (t, d) => t.onError(d),
  };

  private onCreated(d: EventData<'response.created'>, out: StreamOutput[]): StreamOutput[] {
    if (typeof d.response?.created_at === 'number') this.created = d.response.created_at;
    return this.withRole(out);
  }

  private onRefusalDelta(d: DeltaEvent, out: StreamOutput[]): StreamOutput[] {
    if (!d.delta) return out;
    this.refusal += d.delta;
    this.withRole(out).push(this.chunk({ refusal: d.delta }));
    return out;
  }

  private onSummaryPart(d: EventData<'response.reasoning_summary_part.added'>, out: StreamOutput[]) {
    if (Number(d.summary_index) > 0 && this.reasoning.length > 0) {
      this.reasoning.push('\n\n');
      if (this.meta.reasoningContent) this.withRole(out).push(this.chunk({ reasoning_content: '\n\n' }));
    }
    return out;
  }

  private onReasoningDelta(d: DeltaEvent, out: StreamOutput[]): StreamOutput[] {
    if (!d.delta) return out;
    this.reasoning.push(d.delta);
    if (this.meta.reasoningContent) this.withRole(out).push(this.chunk({ reasoning_content: d.delta }));
    return out;
  }

  /** Tool input in pieces; `shape` is the event's kind (function_call_arguments.* events are function-shaped). */
  private onToolInputDelta(d: DeltaEvent, out: StreamOutput[], shape: ArgsShape): StreamOutput[] {
    const t = this.tool(d);
    if (!t || !d.delta) return out;
    t.args += d.delta;
    t.argsSent = true;
    this.withRole(out).push(this.chunk(this.argsDelta(t, d.delta, shape)));
    return out;
  }

  /** The whole tool input at its end: sent only when no piece of it was. */
  private onToolInputDone(d: DeltaEvent, whole: unknown, out: StreamOutput[], shape: ArgsShape) {
    const t = this.tool(d);
    if (t && !t.argsSent && typeof whole === 'string' && whole) {
      t.args = whole;
      t.argsSent = true;
      this.withRole(out).push(this.chunk(this.argsDelta(t, whole, shape)));
    }
    return out;
  }

  private onItemAdded(d: EventData<'response.output_item.added'>, out: StreamOutput[]): StreamOutput[] {
    const item = d.item;
    if (item?.type === 'custom_tool_call' || item?.type === 'function_call') {
      const t = this.addTool(item, d.output_index);
      const args = item.type === 'custom_tool_call' ? item.input : item.arguments;
      if (args) t.args = args;
      this.announce(t, out);
    }
    return out;
  }

  private onFailed(d: EventData<'response.failed'>): StreamOutput[] {
    const err = d.response?.error ?? {};
    return this.fail(err.message ?? 'The upstream failed to produce a response.', err.code ?? 'server_error');
  }

  private onError(d: EventData<'error'>): StreamOutput[] {
    return this.fail(
      d.message ?? d.error?.message ?? 'Upstream error.',
      d.code ?? d.error?.code ?? 'server_error',
    );
  }

  private announce(t: ToolState, out: StreamOutput[]): void {
    t.announced = true;
    if (t.args) t.argsSent = true;
    const call =
      t.kind === 'custom'
        ? { index: t.index, id: t.callId, type: 'custom', custom: { name: t.name, input: t.args } }
        : { index: t.index, id: t.callId, type: 'function', function: { name: t.name, arguments: t.args } };
    this.withRole(out).push(this.chunk({ tool_calls: [call] }));
  }

  private itemDone(data: { item?: OutputItem; output_index?: number | string }, out: StreamOutput[]): void {
    const item = data.item ?? {};
    if (item.type === 'custom_tool_call') {
      let t = this.tool(data);
      if (!t) {
        t = this.addTool(item, data.output_index);
        t.args = item.input ?? '';
        this.announce(t, out);
      } else if (!t.argsSent && item.input) {
        t.args = item.input;
        t.argsSent = true;
        this.withRole(out).push(this.chunk(this.argsDelta(t, item.input)));
      } else if (typeof item.input === 'string') t.args = item.input;
    } else if (item.type === 'function_call') {
      let t = this.tool(data);
      if (!t) {
        t = this.addTool(item, data.output_index);
        t.args = item.arguments ?? '';
        this.announce(t, out);
      } else {
        if (item.name) t.name = this.toolName(item.name);
        if (!t.argsSent && item.arguments) {
          t.args = item.arguments;
          t.argsSent = true;
          this.withRole(out).push(this.chunk(this.argsDelta(t, item.arguments, 'function')));
        } else if (typeof item.arguments === 'string') t.args = item.arguments;
      }
    } else if (item.type === 'message' && Array.isArray(item.content)) {
      // Recover text that arrived only in the final item (no deltas seen).
      const text = item.content
        .filter((p) => p.type === 'output_text')
        .map((p) => p.text ?? '')
        .join('');
      const refusal = item.content
        .filter((p) => p.type === 'refusal')
        .map((p) => p.refusal ?? '')
        .join('');
      if (text && !this.content && !this.stopped) this.text(text, out);
      if (refusal && !this.refusal) {
        this.refusal = refusal;
        this.withRole(out).push(this.chunk({ refusal }));
      }
    } else if (item.type === 'reasoning' && this.reasoning.length === 0 && Array.isArray(item.summary)) {
      const text = item.summary
        .map((s) => s.text ?? '')
        .filter(Boolean)
        .join('\n\n');
      if (text) {
        this.reasoning.push(text);
        if (this.meta.reasoningContent) this.withRole(out).push(this.chunk({ reasoning_content: text }));
      }
    }
  }

  private finishReason(): ChatCompletion['choices'][0]['finish_reason'] {
    if (this.stopped) return 'stop';
    if (this.status === 'incomplete')
      return this.incompleteReason === 'content_filter' ? 'content_filter' : 'length';
    return this.toolOrder.length > 0 ? 'tool_calls' : 'stop';
  }

  private terminal(
    status: 'completed' | 'incomplete',
    response: UpstreamResponse,
    out: StreamOutput[],
  ): StreamOutput[] {
    if (this.finished) return out;
    this.status = status;
    this.incompleteReason = response.incomplete_details?.reason ?? null;
    this.usage = response.usage ?? null;
    if (typeof response.service_tier === 'string') this.serviceTier = response.service_tier;
    // Items only present in the final object (some backends send no output_item.done): take what is missing.
    if (Array.isArray(response.output)) {
      response.output.forEach((item, i) => {
        const isCall = item.type === 'function_call' || item.type === 'custom_tool_call';
        if (isCall && !this.toolOrder.some((t) => t.callId === item.call_id)) {
          this.itemDone({ item, output_index: `final${i}` }, out);
        } else if (!isCall) this.itemDone({ item, output_index: i }, out);
      });
    }
    if (this.finished) return out; // a stop sequence in a final-only item ended the answer above
    const rest = this.stop?.flush();
    if (rest) {
      this.content += rest;
      this.withRole(out).push(this.chunk({ content: rest }));
    }
    this.finished = true;
    this.withRole(out).push(this.chunk({}, this.finishReason()));
    if (this.meta.includeUsage) {
      out.push({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.meta.model,
        choices: [],
        // Cut by a stop sequence, the upstream's usage is not known yet: an estimate of what was sent.
        usage: mapUsage(
          this.usage ?? (this.stopped ? { output_tokens: Math.ceil(this.content.length / 4) } : null),
        ),
      });
    }
    out.push('[DONE]');
    return out;
  }

  /** The upstream failed or the stream broke: an error in OpenAI's streaming shape, no finish chunk, no [DONE]. */
  fail(message: string, code: string | null): StreamOutput[] {
    if (this.finished) return [];
    this.finished = true;
    this.status = 'failed';
    this.failure = { code, message };
    return [{ error: { message, type: classifyFailure(code).type, param: null, code } }];
  }

  /** The final object for a non-streaming call. Throws ApiError when the upstream failed or never finished. */
  completion(): ChatCompletion {
    if (this.status === 'failed' || this.status === 'in_progress') {
      const f = this.failure ?? {
        code: 'server_error',
        message: 'The upstream stream ended before the response was complete.',
      };
      const { status, type } = classifyFailure(f.code);
      throw ApiError.of({ status, message: f.message, type, code: f.code });
    }
    const toolCalls: ChatToolCall[] = this.toolOrder.map((t) =>
      t.kind === 'custom'
        ? { id: t.callId, type: 'custom', custom: { name: t.name, input: t.args } }
        : { id: t.callId, type: 'function', function: { name: t.name, arguments: t.args } },
    );
    const message: ChatCompletion['choices'][0]['message'] = {
      role: 'assistant',
      content: this.content === '' ? null : this.content,
      refusal: this.refusal === '' ? null : this.refusal,
    };
    if (toolCalls.length) message.tool_calls = toolCalls;
    if (this.meta.reasoningContent && this.reasoning.length)
      message.reasoning_content = this.reasoning.join('');
    const c: ChatCompletion = {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.meta.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: this.finishReason() }],
      usage: mapUsage(this.usage),
    };
    if (this.serviceTier) c.service_tier = this.serviceTier;
    return c;
  }

  /** Upstream usage of the finished response (for logs/tests). */
  get upstreamUsage(): Json | null {
    return this.usage;
  }
}

type ArgsShape = 'call' | 'function';
type Handler<T extends EventType> = (
  t: ChatTranslator,
  data: EventData<T>,
  out: StreamOutput[],
) => StreamOutput[];
