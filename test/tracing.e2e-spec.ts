import { FakeUpstream } from './fake-upstream/index.ts';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { gatewayWithAccounts, type GatewayWithAccounts } from './support/scenario.js';
import { TracingService } from '../src/telemetry/telemetry.module.js';
import { eventually } from './support/wait.js';

const SERVER = 2; // OTLP SpanKind: SPAN_KIND_SERVER
const CLIENT = 3; // SPAN_KIND_CLIENT

/** Every string an attribute carries, resource included. */
function strings(spans: ReceivedSpan[]): string[] {
  return spans.flatMap((s) => [
    s.name,
    ...Object.values(s.attributes).map(String),
    ...Object.values(s.resource).map(String),
  ]);
}

describe('OpenTelemetry traces (OTLP/HTTP to a receiver started by the test)', () => {
  let fake: FakeUpstream;
  let otlp: OtlpReceiver;
  let s: GatewayWithAccounts;

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    otlp = await OtlpReceiver.start();
    s = await gatewayWithAccounts(fake, 2, {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'cg-under-test',
    });
  });
  afterAll(async () => {
    await s?.gw.close();
    await otlp?.close();
    await fake?.close();
  });

  const flush = () => s.gw.app.get(TracingService).flush();

  it('one server span per request, child of an incoming traceparent; its trace id is in the request log line', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const res = await fetch(`${s.gw.url}/v1/models?secret_query=zzz`, {
      headers: { authorization: `Bearer ${s.key}`, traceparent: `00-${traceId}-${parent}-01` },
    });
    expect(res.status).toBe(200);
    await flush();
    await eventually(() => otlp.spans.some((x) => x.traceId === traceId), 'the server span');
    const span = otlp.spans.find((x) => x.traceId === traceId)!;
    expect(span).toMatchObject({
      kind: SERVER,
      parentSpanId: parent,
      name: 'GET /v1/models',
      attributes: expect.objectContaining({
        'http.request.method': 'GET',
        'http.route': '/v1/models',
        'url.path': '/v1/models',
        'http.response.status_code': 200,
      }),
      resource: expect.objectContaining({ 'service.name': 'cg-under-test' }),
    });
    expect(otlp.posts.every((p) => p.path === '/v1/traces')).toBe(true);
    const line = s.gw.logs.json().find((l) => l.msg === 'request' && l.route === '/v1/models');
    expect(line?.traceId).toBe(traceId);
  });

  it('without a traceparent a new trace starts; a 5xx-free 4xx is not an error span', async () => {
    const res = await fetch(`${s.gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
      body: '{"model": 5}',
    });
    expect(res.status).toBe(400);
    await flush();
    const line = s.gw.logs
      .json()
      .find((l) => l.msg === 'request' && l.route === '/v1/responses' && l.status === 400);
    expect(line?.traceId).toMatch(/^[0-9a-f]{32}$/);
    await eventually(() => otlp.spans.some((x) => x.traceId === line!.traceId), 'the 400 span');
    const span = otlp.spans.find((x) => x.traceId === line!.traceId)!;
    expect(span.parentSpanId).toBe('');
    expect(span.status.code ?? 0).not.toBe(2);
  });

  it('one client span per upstream attempt: a failover shows as two attempts, the failed one an error', async () => {
    const conv = { prompt_cache_key: 'trace-conv-1' };
    fake.respondWith({ text: 'first', usage: { input_tokens: 40, cached_tokens: 0, output_tokens: 4 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'turn one', ...conv });
    await flush();
    await eventually(() => otlp.spans.some((x) => x.kind === CLIENT), 'an attempt span');
    const firstAttempt = otlp.spans.filter((x) => x.kind === CLIENT).at(-1)!;
    const sticky = s.accts.find((a) => a.id === firstAttempt.attributes['cg.account.id'])!;
    expect(sticky).toBeDefined();

    // The conversation's account fails with a 500: the pipeline moves to the other account.
    fake.fault(sticky.fake.chatgptAccountId, { kind: 'server_error', status: 500 });
    fake.respondWith({ text: 'second', usage: { input_tokens: 60, cached_tokens: 32, output_tokens: 5 } });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${s.gw.url}/v1/responses`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.key}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'turn two', ...conv }),
    });
    expect(res.status).toBe(200);
    await res.text();
    await flush();
    await eventually(
      () => otlp.spans.filter((x) => x.traceId === traceId).length >= 3,
      'server span and two attempt spans',
    );
    const spans = otlp.spans.filter((x) => x.traceId === traceId);
    const server = spans.find((x) => x.kind === SERVER)!;
    const attempts = spans
      .filter((x) => x.kind === CLIENT)
      .sort((a, b) => Number(a.attributes['cg.attempt']) - Number(b.attributes['cg.attempt']));
    expect(server.name).toBe('POST /v1/responses');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(a.parentSpanId).toBe(server.spanId);
    expect(attempts[0]).toMatchObject({
      name: 'chat gpt-5.5',
      status: expect.objectContaining({ code: 2 }), // STATUS_CODE_ERROR
      attributes: expect.objectContaining({
        'cg.attempt': 1,
        'cg.account.id': sticky.id,
        'cg.account.label': s.accts.indexOf(sticky) === 0 ? 'acct0' : 'acct1',
        'error.type': expect.any(String),
        'gen_ai.request.model': 'gpt-5.5',
      }),
    });
    const other = s.accts.find((a) => a !== sticky)!;
    expect(attempts[1].status.code ?? 0).not.toBe(2);
    expect(attempts[1].attributes).toEqual(
      expect.objectContaining({
        'cg.attempt': 2,
        'cg.account.id': other.id,
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-5.5',
        'gen_ai.response.model': expect.any(String),
        'gen_ai.usage.input_tokens': 60,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.usage.cache_read.input_tokens': 32,
      }),
    );
  });

  it('no key, token, Authorization header or prompt/answer text in any exported attribute', async () => {
    fake.respondWith({ text: 'ANSWER-TEXT-7d1f', usage: { input_tokens: 11, output_tokens: 3 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'PROMPT-TEXT-91ab' });
    await flush();
    await eventually(
      () => otlp.spans.some((x) => x.attributes['http.route'] === '/v1/responses'),
      'a model span',
    );
    const all = strings(otlp.spans).join('\n');
    const secrets = [
      s.key,
      s.key.slice(6, 20),
      'Bearer',
      'PROMPT-TEXT-91ab',
      'ANSWER-TEXT-7d1f',
      'secret_query',
      ...s.accts.map((a) => a.fake.accessToken),
      ...s.accts.map((a) => a.fake.refreshToken),
    ];
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\./); // no JWT
    expect(all).not.toMatch(/sk-[A-Za-z0-9_-]{16,}/);
  });
});

describe('OpenTelemetry off', () => {
  let fake: FakeUpstream;
  let otlp: OtlpReceiver;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    otlp = await OtlpReceiver.start();
  });
  afterAll(async () => {
    await otlp.close();
    await fake.close();
  });

  it.each([
    [
      'no endpoint variable (service name and protocol alone do not turn it on)',
      {
        OTEL_SERVICE_NAME: 'x',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
    ],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }],
  ])('%s: nothing exported, no trace id in log lines', async (_what, env: Record<string, string>) => {
    // Where the endpoint is given, it points at the receiver: an export would show.
    const endpoint: Record<string, string> =
      'OTEL_SERVICE_NAME' in env ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    const s = await gatewayWithAccounts(fake, 1, {
      ...endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      ...env,
    });
    try {
      const tracing = s.gw.app.get(TracingService);
      expect(tracing.enabled).toBe(false);
      fake.respondWith({ text: 'x', usage: { input_tokens: 1, output_tokens: 1 } });
      await s.client.responses.create({ model: 'gpt-5.5', input: 'hi' });
      await tracing.flush();
      await new Promise((r) => setTimeout(r, 300));
      expect(otlp.posts).toHaveLength(0);
      const lines = s.gw.logs.json().filter((l) => l.msg === 'request');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((l) => 'traceId' in l)).toHaveLength(0);
    } finally {
      await s.gw.close();
    }
  });
});

describe('OpenTelemetry over http/protobuf (the default protocol)', () => {
  it('POSTs protobuf to /v1/traces with the span in it', async () => {
    const fake = await FakeUpstream.start();
    const otlp = await OtlpReceiver.start();
    const s = await gatewayWithAccounts(fake, 1, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    try {
      const res = await fetch(`${s.gw.url}/v1/models`, { headers: { authorization: `Bearer ${s.key}` } });
      expect(res.status).toBe(200);
      await s.gw.app.get(TracingService).flush();
      await eventually(() => otlp.posts.length > 0, 'a protobuf export');
      const post = otlp.posts[0];
      expect(post.path).toBe('/v1/traces');
      expect(post.headers['content-type']).toBe('application/x-protobuf');
      // Protobuf carries strings as raw UTF-8: the span name and route are in the body.
      expect(post.body.includes(Buffer.from('GET /v1/models'))).toBe(true);
      expect(post.body.includes(Buffer.from(s.key))).toBe(false);
    } finally {
      await s.gw.close();
      await otlp.close();
      await fake.close();
    }
  });
});
