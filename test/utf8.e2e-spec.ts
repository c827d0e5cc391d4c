import { useFakeGateway } from './support/scenario.js';

/**
 * Multi-byte text through the gateway while the upstream writes its body in 1–7 byte pieces (so UTF-8
 * characters are cut between TCP chunks): every byte must come out as it went in, on both routes, streaming
 * and not. The texts are NFD on purpose (combining accents must not be normalised either).
 */
const TEXTS = {
  chinese: '你好， 世界！ 这是一个 关于字节边界的 测试： 汉字 每个占 三个字节， 切开后 必须重新 拼好。',
  emoji: 'Family 👩‍👩‍👧‍👦 party 🎉 rocket 🚀 flags 🇫🇷🇯🇵 skin 👍🏽 done ✅',
  combining: 'Cafe\u0301 n\u0303 a\u0308 o\u0302\u0323 Zalgo z\u0336\u0301\u0327 A\u030a fin',
};

const s = useFakeGateway(1);
beforeEach(() => s.fake.configure({ splitWrites: true, eventDelayMs: 0 }));

async function post(path: string, body: unknown): Promise<{ status: number; bytes: Buffer }> {
  const r = await fetch(`${s.gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()) };
}

/** The JSON payloads of an SSE body (decoded once, whole). */
function sseData(bytes: Buffer): any[] {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  return text
    .split('\n\n')
    .flatMap((block) => block.split('\n').filter((l) => l.startsWith('data: ')))
    .map((l) => l.slice(6))
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
}

const sameBytes = (got: string, want: string) =>
  expect(Buffer.from(got, 'utf8').toString('hex')).toBe(Buffer.from(want, 'utf8').toString('hex'));

describe.each(Object.entries(TEXTS))('%s text, upstream bytes cut in 1–7 byte pieces', (_name, text) => {
  it('/v1/responses streaming: deltas and the done text are byte-exact', async () => {
    s.fake.respondWith({ text, reasoningSummary: text });
    const r = await post('/v1/responses', { model: 'gpt-5.5', input: 'go', stream: true });
    expect(r.status).toBe(200);
    expect(r.bytes.includes(Buffer.from('\uFFFD', 'utf8'))).toBe(false);
    const events = sseData(r.bytes);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta);
    expect(deltas.length).toBeGreaterThan(1);
    sameBytes(deltas.join(''), text);
    sameBytes(events.find((e) => e.type === 'response.output_text.done').text, text);
    const summary = events.filter((e) => e.type === 'response.reasoning_summary_text.delta');
    sameBytes(summary.map((e) => e.delta).join(''), text);
  });

  it('/v1/responses non-streaming: output text is byte-exact', async () => {
    s.fake.respondWith({ text });
    const r = await post('/v1/responses', { model: 'gpt-5.5', input: 'go' });
    expect(r.status).toBe(200);
    const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(r.bytes));
    const msg = body.output.find((o: any) => o.type === 'message');
    sameBytes(msg.content[0].text, text);
  });

  it('/v1/chat/completions streaming: content deltas are byte-exact', async () => {
    s.fake.respondWith({ text });
    const r = await post('/v1/chat/completions', {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
    });
    expect(r.status).toBe(200);
    expect(r.bytes.includes(Buffer.from('\uFFFD', 'utf8'))).toBe(false);
    const content = sseData(r.bytes)
      .map((c) => c.choices?.[0]?.delta?.content)
      .filter((c) => typeof c === 'string');
    expect(content.length).toBeGreaterThan(1);
    sameBytes(content.join(''), text);
  });

  it('/v1/chat/completions non-streaming: message content is byte-exact', async () => {
    s.fake.respondWith({ text });
    const r = await post('/v1/chat/completions', {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'go' }],
    });
    expect(r.status).toBe(200);
    const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(r.bytes));
    sameBytes(body.choices[0].message.content, text);
  });
});

describe('/v1/responses streaming relays pass-through events as the upstream wrote them', () => {
  afterEach(() => s.fake.configure({ encode: undefined }));

  it('CRLF, no space after the colon, an id line, odd JSON spacing and field order: the same bytes arrive', async () => {
    const sent: string[] = [];
    s.fake.configure({
      encode: (e) => {
        const { type, ...rest } = e.data as Record<string, unknown>;
        // The gateway reads (and may rewrite) lifecycle events; every other one must pass through untouched.
        if (
          e.type.startsWith('response.') &&
          !/^response\.(created|in_progress|completed|failed|incomplete)$/.test(e.type)
        ) {
          const json = JSON.stringify({ ...rest, type })
            .replace(/,"/g, ' ,  "')
            .replace(/":/g, '" :');
          const text = `event:${e.type}\r\nid: ${sent.length}\r\ndata:${json}\r\n\r\n`;
          sent.push(text);
          return text;
        }
        return `event: ${e.type}\r\ndata: ${JSON.stringify(e.data)}\r\n\r\n`;
      },
    });
    s.fake.respondWith({ text: TEXTS.emoji, reasoningSummary: TEXTS.chinese });
    const r = await post('/v1/responses', { model: 'gpt-5.5', input: 'go', stream: true });
    expect(r.status).toBe(200);
    expect(sent.length).toBeGreaterThan(10);
    for (const text of sent) expect(r.bytes.includes(Buffer.from(text))).toBe(true);
    // And the stream still reads as a Responses stream (the gateway framed the CRLF blocks and ended it).
    const body = r.bytes.toString('utf8');
    expect(body).toContain('response.completed');
    expect(body).not.toContain('codex.rate_limits');
  });
});
