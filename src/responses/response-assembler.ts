/**
 * Builds the final Response object of a non-streaming /v1/responses call from the stream: the terminal event's
 * response, with `output` rebuilt from `response.output_item.done` items when the backend left it empty
 * (docs/upstream-protocol.md §5). Pure.
 */
export class ResponseAssembler {
  private readonly items = new Map<number, unknown>();
  private final: Record<string, any> | null = null;
  private terminalType: string | null = null;

  push(type: string, data: any): void {
    if (type === 'response.output_item.done' && typeof data?.output_index === 'number')
      this.items.set(data.output_index, data.item);
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      this.final = data?.response ?? {};
      this.terminalType = type;
    }
  }

  get terminal(): string | null {
    return this.terminalType;
  }

  result(): Record<string, any> | null {
    if (!this.final) return null;
    const output =
      Array.isArray(this.final.output) && this.final.output.length > 0
        ? this.final.output
        : [...this.items.entries()].sort((a, b) => a[0] - b[0]).map(([, item]) => item);
    return { ...this.final, output };
  }
}
