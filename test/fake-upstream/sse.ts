import { randomBytes } from 'node:crypto';

/** What the next /responses answer contains (see FakeUpstream.respondWith). */
export interface ResponseSpec {
  text?: string;
  reasoningSummary?: string;
  functionCalls?: { name: string; arguments: string; callId?: string }[];
  /** Freeform (custom) tool calls: custom_tool_call items with a raw `input`. */
  customToolCalls?: { name: string; input: string; callId?: string }[];
  usage?: {
    input_tokens?: number;
    cached_tokens?: number;
    output_tokens?: number;
    reasoning_tokens?: number;
  };
  incomplete?: 'max_output_tokens' | 'content_filter';
  refusal?: string;
  failed?: { code: string; message: string; resets_in_seconds?: number };
  /** Pause after response.in_progress before the first output event (time the model takes to start). */
  firstOutputDelayMs?: number;
  /** Answer a remote-compaction (v2) request: one `compaction` output item and nothing else. */
  compaction?: { encryptedContent: string };
}

export type SseEvent = { type: string; data: Record<string, any> };

const id = (p: string) => `${p}_${randomBytes(12).toString('hex')}`;

/** Splits text into a few deltas so relaying is observable event by event. */
function pieces(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [text];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 2) out.push(words.slice(i, i + 2).join(''));
  return out.length ? out : [''];
}

/**
 * The event sequence of one answer, in the order docs/upstream-protocol.md §5 gives (codex.rate_limits first, then
 * response.created … response.completed), with sequence_number on every event.
 */
export function buildEvents(
  spec: ResponseSpec,
  model: string,
  lastUserText: string,
  opts: { encryptedReasoning?: boolean } = {},
): SseEvent[] {
  const respId = id('resp');
  const created = Math.floor(Date.now() / 1000);
  const base = (status: string, extra: Record<string, any> = {}) => ({
    id: respId,
    object: 'response',
    created_at: created,
    status,
    model,
    output: [] as any[],
    ...extra,
  });
  const ev: SseEvent[] = [];
  const push = (type: string, data: Record<string, any>) => ev.push({ type, data });
  push('codex.rate_limits', {
    rate_limits: {
      primary: { used_percent: 1, window_minutes: 300 },
      secondary: { used_percent: 1, window_minutes: 10080 },
    },
  });
  push('response.created', { response: base('in_progress') });
  push('response.in_progress', { response: base('in_progress') });
  let oi = 0;
  if (spec.reasoningSummary) {
    const rid = id('rs');
    push('response.output_item.added', {
      output_index: oi,
      item: { id: rid, type: 'reasoning', summary: [] },
    });
    push('response.reasoning_summary_part.added', {
      item_id: rid,
      output_index: oi,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const d of pieces(spec.reasoningSummary)) {
      push('response.reasoning_summary_text.delta', {
        item_id: rid,
        output_index: oi,
        summary_index: 0,
        delta: d,
      });
    }
    push('response.reasoning_summary_text.done', {
      item_id: rid,
      output_index: oi,
      summary_index: 0,
      text: spec.reasoningSummary,
    });
    push('response.reasoning_summary_part.done', {
      item_id: rid,
      output_index: oi,
      summary_index: 0,
      part: { type: 'summary_text', text: spec.reasoningSummary },
    });
    push('response.output_item.done', {
      output_index: oi,
      item: {
        id: rid,
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: spec.reasoningSummary }],
        // With store:false the backend returns the reasoning only when asked (include reasoning.encrypted_content).
        ...(opts.encryptedReasoning !== false
          ? { encrypted_content: `gAAAA${randomBytes(24).toString('base64url')}` }
          : {}),
      },
    });
    oi++;
  }
  if (spec.compaction) {
    const cid = id('cmp');
    const item = { id: cid, type: 'compaction', encrypted_content: spec.compaction.encryptedContent };
    push('response.output_item.added', { output_index: oi, item });
    push('response.output_item.done', { output_index: oi, item });
    oi++;
  }
  const text =
    spec.text ??
    (spec.functionCalls || spec.refusal || spec.compaction || spec.failed
      ? undefined
      : `You said: ${lastUserText}`);
  if (text !== undefined || spec.refusal) {
    const mid = id('msg');
    push('response.output_item.added', {
      output_index: oi,
      item: { id: mid, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    });
    const parts: any[] = [];
    if (spec.refusal) {
      push('response.content_part.added', {
        item_id: mid,
        output_index: oi,
        content_index: 0,
        part: { type: 'refusal', refusal: '' },
      });
      for (const d of pieces(spec.refusal))
        push('response.refusal.delta', { item_id: mid, output_index: oi, content_index: 0, delta: d });
      push('response.refusal.done', {
        item_id: mid,
        output_index: oi,
        content_index: 0,
        refusal: spec.refusal,
      });
      parts.push({ type: 'refusal', refusal: spec.refusal });
    } else if (text !== undefined) {
      push('response.content_part.added', {
        item_id: mid,
        output_index: oi,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      });
      for (const d of pieces(text)) {
        push('response.output_text.delta', {
          item_id: mid,
          output_index: oi,
          content_index: 0,
          delta: d,
          logprobs: [],
        });
      }
      push('response.output_text.done', {
        item_id: mid,
        output_index: oi,
        content_index: 0,
        text,
        logprobs: [],
      });
      parts.push({ type: 'output_text', text, annotations: [] });
    }
    push('response.content_part.done', { item_id: mid, output_index: oi, content_index: 0, part: parts[0] });
    push('response.output_item.done', {
      output_index: oi,
      item: { id: mid, type: 'message', status: 'completed', role: 'assistant', content: parts },
    });
    oi++;
  }
  for (const fc of spec.functionCalls ?? []) {
    const fid = id('fc');
    const callId = fc.callId ?? id('call');
    push('response.output_item.added', {
      output_index: oi,
      item: {
        id: fid,
        type: 'function_call',
        status: 'in_progress',
        call_id: callId,
        name: fc.name,
        arguments: '',
      },
    });
    for (const d of pieces(fc.arguments.replace(/,/g, ', ')).map((p) => p.replace(/, /g, ','))) {
      push('response.function_call_arguments.delta', { item_id: fid, output_index: oi, delta: d });
    }
    push('response.function_call_arguments.done', {
      item_id: fid,
      output_index: oi,
      name: fc.name,
      arguments: fc.arguments,
    });
    push('response.output_item.done', {
      output_index: oi,
      item: {
        id: fid,
        type: 'function_call',
        status: 'completed',
        call_id: callId,
        name: fc.name,
        arguments: fc.arguments,
      },
    });
    oi++;
  }
  for (const cc of spec.customToolCalls ?? []) {
    const cid = id('ctc');
    const callId = cc.callId ?? id('call');
    const item = { id: cid, type: 'custom_tool_call', call_id: callId, name: cc.name };
    push('response.output_item.added', {
      output_index: oi,
      item: { ...item, status: 'in_progress', input: '' },
    });
    for (const d of pieces(cc.input))
      push('response.custom_tool_call_input.delta', { item_id: cid, output_index: oi, delta: d });
    push('response.custom_tool_call_input.done', { item_id: cid, output_index: oi, input: cc.input });
    push('response.output_item.done', {
      output_index: oi,
      item: { ...item, status: 'completed', input: cc.input },
    });
    oi++;
  }
  const u = spec.usage ?? {};
  const input = u.input_tokens ?? Math.max(1, Math.ceil(lastUserText.length / 4));
  const output = u.output_tokens ?? Math.max(1, Math.ceil((text ?? '').length / 4));
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
    total_tokens: input + output,
  };
  if (spec.failed) {
    push('response.failed', { response: base('failed', { error: spec.failed, usage }) });
  } else if (spec.incomplete) {
    push('response.incomplete', {
      response: base('incomplete', { incomplete_details: { reason: spec.incomplete }, usage }),
    });
  } else {
    // The real backend often leaves `output` empty here (docs/upstream-protocol.md §5); so does the fake.
    push('response.completed', { response: base('completed', { usage }) });
  }
  return ev.map((e, i) => ({ type: e.type, data: { type: e.type, ...e.data, sequence_number: i } }));
}

export function encodeEvent(e: SseEvent): string {
  return `event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
