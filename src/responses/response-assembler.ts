import {
  EVENT,
  isEvent,
  isTerminal,
  type OutputItem,
  type TerminalType,
  type UpstreamEvent,
  type UpstreamResponse,
} from '../upstream/events.js';

/**
 * Builds the final Response object of a non-streaming /v1/responses call from the stream: the terminal event's
 * response, with `output` rebuilt from `response.output_item.done` items when the backend left it empty
 * (docs/upstream-protocol.md §5). Pure.
 */
export class ResponseAssembler {
  private readonly items = new Map<number, OutputItem | undefined>();
  private final: UpstreamResponse | null = null;
  private terminalType: TerminalType | null = null;

  push(ev: UpstreamEvent): void {
    if (isEvent(ev, EVENT.outputItemDone) && typeof ev.data?.output_index === 'number')
      this.items.set(ev.data.output_index, ev.data.item);
    if (isTerminal(ev)) {
      this.final = ev.data?.response ?? {};
      this.terminalType = ev.type;
    }
  }

  get terminal(): TerminalType | null {
    return this.terminalType;
  }

  result(): UpstreamResponse | null {
    if (!this.final) return null;
    const output =
      Array.isArray(this.final.output) && this.final.output.length > 0
        ? this.final.output
        : [...this.items.entries()].sort((a, b) => a[0] - b[0]).map(([, item]) => item);
    return { ...this.final, output: output as OutputItem[] };
  }
}
