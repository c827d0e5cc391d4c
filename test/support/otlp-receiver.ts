import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One span as the OTLP/HTTP JSON encoding carries it, attributes flattened to a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  status: { code?: number; message?: string };
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

function flatten(attrs: any[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of attrs ?? []) {
    const v = a.value ?? {};
    out[a.key] =
      v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

/**
 * A plain OTLP/HTTP receiver for tests: records each POST (path, headers, raw body) and decodes http/json span
 * exports. Protobuf bodies are recorded, not decoded.
 */
export class OtlpReceiver {
  readonly posts: { path: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  readonly spans: ReceivedSpan[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const box: { self?: OtlpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        box.self!.posts.push({ path: req.url ?? '', headers: req.headers, body });
        if (String(req.headers['content-type']).includes('json'))
          box.self!.decode(JSON.parse(body.toString('utf8')));
        res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') });
        res.end(String(req.headers['content-type']).includes('json') ? '{}' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    box.self = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    return box.self;
  }

  private decode(json: any): void {
    for (const rs of json.resourceSpans ?? []) {
      const resource = flatten(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
            status: s.status ?? {},
            attributes: flatten(s.attributes),
            resource,
          });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
