import { connect, type Socket } from 'node:net';
import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { parseRaw } from './support/http.js';

const MiB = 1024 * 1024;

/** Opens a raw connection and sends a request head declaring `declared` body bytes (none of the body yet). */
function openUpload(gw: TestGateway, path: string, declared: number | 'chunked', headers = ''): Socket {
  const { hostname, port } = new URL(gw.url);
  const sock = connect(Number(port), hostname);
  const length = declared === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
  sock.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${length}\r\n${headers}\r\n`,
  );
  sock.on('error', () => {}); // the server may close while we still write
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
  const fake = useFakeUpstream();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: fakeEnv(fake) });
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  });
  afterAll(() => gw.close());

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
    fake.respondWith({ text: 'ok', usage: { input_tokens: 5, output_tokens: 5 } });
    const r = await fetch(gw.url + '/v1/responses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hi ' + 'x'.repeat(2 * MiB) }),
    });
    expect(r.status).toBe(200);
  });
});
