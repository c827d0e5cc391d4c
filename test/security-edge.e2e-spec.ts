import { connect, type Socket } from 'node:net';
import { useFakeGateway } from './support/scenario.js';
import type { TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { parseRaw } from './support/http.js';
import { connectWs } from './support/ws.js';

const MiB = 1024 * 1024;

/** Opens a raw connection and sends a request head declaring `declared` body bytes (none of the body yet). */
function openUpload(gw: TestGateway, path: string, declared: number | 'chunked', headers = ''): Socket {
  const { hostname } = new URL(gw.url);
  const sock = open(gw);
  const length = declared === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
  sock.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${length}\r\n${headers}\r\n`,
  );
  sock.on('error', () => {}); // the server may close while we still write
  return sock;
}

/** A raw TCP connection to the gateway, from `from` (any 127.x address is loopback on Linux). */
function open(gw: TestGateway, from?: string): Socket {
  const { hostname, port } = new URL(gw.url);
  const sock = connect({ port: Number(port), host: hostname, localAddress: from });
  sock.on('error', () => {});
  return sock;
}

/** Everything the server wrote until it closed or `ms` passed. */
function answer(sock: Socket, ms: number): Promise<{ text: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => {
      sock.destroy();
    }, ms);
    sock.on('data', (c) => {
      chunks.push(c);
      // One complete answer is enough (keep-alive connections stay open).
      if (/\r\n\r\n/.test(Buffer.concat(chunks).toString('latin1'))) setTimeout(() => sock.destroy(), 50);
    });
    sock.on('close', done);
  });
}

/** Writes `total` bytes of JSON-ish filler with backpressure until done or the server answered/closed. */
async function pump(sock: Socket, total: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  let stop = false;
  sock.once('data', () => (stop = true));
  sock.once('close', () => (stop = true));
  while (sent < total && !stop && !sock.destroyed) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        sock.once('drain', () => (clearTimeout(t), r()));
      });
  }
  return sent;
}

describe('security: nothing large is read before it is authorised (issue 22 item 10)', () => {
  const s = useFakeGateway(1);
  let gw: TestGateway;
  beforeAll(() => (gw = s.gw));

  it('an unauthenticated 20 MiB body is refused (401) before the client has sent it', async () => {
    for (const [path, headers] of [
      ['/v1/responses', ''],
      ['/v1/responses', 'Authorization: Bearer sk-cg-not-a-real-key-000000000000000000000000\r\n'],
      ['/admin/api/keys', 'Cookie: cg_session=forged\r\n'],
    ] as const) {
      const sock = openUpload(gw, path, 20 * MiB, headers);
      sock.write(Buffer.alloc(MiB, 0x20)); // 1 of the 20 MiB declared
      const r = await answer(sock, 3000);
      const { status, body } = parseRaw(r.text);
      expect(`${path} ${headers.split(':')[0]} ${status}`).toBe(`${path} ${headers.split(':')[0]} 401`);
      expect(body.error.code).toBe('body_needs_authentication');
    }
  });

  it('ten parallel unauthenticated 20 MiB uploads: all 401, RSS stays flat, /healthz answers fast', async () => {
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    const uploads = Array.from({ length: 10 }, async () => {
      const sock = openUpload(gw, '/v1/responses', 20 * MiB);
      const got = answer(sock, 10_000);
      const sent = await pump(sock, 20 * MiB);
      return { ...(await got), sent };
    });
    const h0 = Date.now();
    const health = await fetch(gw.url + '/healthz');
    const healthMs = Date.now() - h0;
    const results = await Promise.all(uploads);
    clearInterval(sampler);
    const elapsed = Date.now() - t0;
    console.log(
      `item 10: 10 x 20 MiB unauthenticated: ${elapsed} ms, RSS +${Math.round((peak - rss0) / MiB)} MiB ` +
        `(peak), healthz ${healthMs} ms, client sent ${results.map((r) => Math.round(r.sent / MiB)).join('/')} MiB`,
    );
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(500);
    for (const r of results) expect(parseRaw(r.text).status).toBe(401);
    expect(elapsed).toBeLessThan(5000);
    expect(peak - rss0).toBeLessThan(80 * MiB);
  });

  it('an unauthenticated chunked body over 64 KiB is cut with 413; small sign-in bodies still work', async () => {
    const sock = openUpload(gw, '/admin/api/auth/login', 'chunked', `Origin: ${gw.url}\r\n`);
    const got = answer(sock, 3000);
    const piece = Buffer.alloc(16 * 1024, 0x20);
    for (let i = 0; i < 8; i++) sock.write(`${piece.length.toString(16)}\r\n${piece.toString()}\r\n`);
    const { status, body } = parseRaw((await got).text);
    expect(status).toBe(413);
    expect(body.error.code).toBe('body_too_large');
    const small = await fetch(gw.url + '/admin/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: gw.url },
      body: JSON.stringify({ email: 'nobody@example.com', password: 'x'.repeat(1000) }),
    });
    expect(small.status).toBe(401);
  });

  it('an authenticated large body is still read (up to BODY_LIMIT_BYTES)', async () => {
    const { key } = await createKey(gw);
    s.fake.respondWith({ text: 'ok', usage: { input_tokens: 5, output_tokens: 5 } });
    const r = await fetch(gw.url + '/v1/responses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hi ' + 'x'.repeat(2 * MiB) }),
    });
    expect(r.status).toBe(200);
  });
});

describe('security: slow requests and connection floods (issue 22 item 11)', () => {
  const s = useFakeGateway(1, {
    REQUEST_TIMEOUT_MS: '1500',
    HEADERS_TIMEOUT_MS: '1000',
    MAX_CONNECTIONS_PER_ADDRESS: '6',
    TRUST_PROXY: '127.0.0.4',
  });
  const connected = (sock: Socket) => new Promise((r) => sock.once('connect', r));

  it('a half-sent body is answered 408 and closed after REQUEST_TIMEOUT_MS', async () => {
    const sock = openUpload(s.gw, '/admin/api/auth/login', 200, `Origin: ${s.gw.url}\r\n`);
    sock.write('{"email":"a@');
    const r = await answer(sock, 6000);
    expect(parseRaw(r.text).status).toBe(408);
    expect(r.ms).toBeLessThan(4000);
  });

  it('half-sent headers are closed after HEADERS_TIMEOUT_MS', async () => {
    const sock = open(s.gw);
    sock.write('POST /admin/api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const r = await answer(sock, 6000);
    expect(r.ms).toBeLessThan(3500);
    expect(parseRaw(r.text).status).toBe(408);
  });

  it('a stream and a WebSocket that last longer than the timeouts complete', async () => {
    s.fake.configure({ holdMs: 2500 });
    const t0 = Date.now();
    const r = await fetch(s.gw.url + '/v1/responses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hi', stream: true }),
    });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).toContain('response.completed');
    expect(Date.now() - t0).toBeGreaterThan(2000);
    s.fake.configure({ holdMs: 0 });
    const c = await connectWs(s.gw, s.key);
    await new Promise((res) => setTimeout(res, 2000)); // idle past both timeouts
    c.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.5', stream: true, input: 'hi' }));
    expect((await c.next((f) => f.type === 'response.completed', 5000)).type).toBe('response.completed');
    c.ws.close();
  });

  it('the connection past MAX_CONNECTIONS_PER_ADDRESS from one address is refused; others and proxies are not', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      held.push(open(s.gw, '127.0.0.2'));
      await connected(held[i]);
    }
    await new Promise((r) => setTimeout(r, 100));
    const extra = open(s.gw, '127.0.0.2');
    extra.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const refused = await answer(extra, 3000);
    expect(parseRaw(refused.text).status).toBe(429);
    expect(parseRaw(refused.text).body.error.code).toBe('too_many_connections');
    // Another address is unaffected; so is a trusted proxy (TRUST_PROXY) with more than the cap.
    for (const from of ['127.0.0.3', ...Array(8).fill('127.0.0.4')]) {
      const sock = open(s.gw, from);
      held.push(sock);
      await connected(sock);
    }
    const viaProxy = held[held.length - 1];
    viaProxy.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(parseRaw((await answer(viaProxy, 3000)).text).status).toBe(200);
    // A slot freed is a slot again.
    held[0].destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = open(s.gw, '127.0.0.2');
    again.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(parseRaw((await answer(again, 3000)).text).status).toBe(200);
    for (const h of held) h.destroy();
  });
});
