import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { useFakeGateway } from './support/scenario.js';
import { connectWs } from './support/ws.js';
import { ResponsesSocketServer } from '../src/responses/responses-ws.js';

const MiB = 1024 * 1024;
/** `words` random 1 KiB words. */
const incompressible = (words: number) =>
  Array.from({ length: words }, () => randomBytes(767).toString('base64').slice(0, 1023) + ' ').join('');

/**
 * Issue 22, "also look at": WebSocket sends respect the socket's buffered amount. A client that never reads makes
 * the gateway stop reading the upstream stream (bounded memory), and one that reads nothing for
 * RESPONSES_WS_SEND_STALL_SECONDS is closed with 1008.
 */
describe('security: WebSocket back-pressure', () => {
  const s = useFakeGateway(1, { RESPONSES_WS_SEND_STALL_SECONDS: '4' });
  // The gateway's side of each open socket (what it has not sent yet is its bufferedAmount).
  const serverSockets = (): WebSocket[] =>
    [...(s.gw.app.get(ResponsesSocketServer) as any).sessions.keys()].map((x: any) => x.socket);

  it('a client that never reads: the unsent bytes stay bounded and the socket is closed with 1008', async () => {
    s.fake.configure({ eventDelayMs: 0 });
    // About 20 MiB of output in 1 KiB deltas that do not compress (the socket has permessage-deflate).
    s.fake.respondWith({ text: incompressible(20_000) });
    const c = await connectWs(s.gw, s.key);
    c.ws.pause(); // never reads again
    c.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.5', stream: true, input: 'hi' }));
    const sentAt = Date.now();
    let peak = 0;
    const sampler = setInterval(() => {
      for (const ws of serverSockets()) peak = Math.max(peak, ws.bufferedAmount);
    }, 10);
    const closedAt = await Promise.race([
      new Promise<number>((r) => {
        const t = setInterval(() => {
          if (serverSockets().some((ws) => ws.readyState === ws.OPEN)) return;
          clearInterval(t);
          r(Date.now());
        }, 50);
      }),
      new Promise<number>((r) => setTimeout(() => r(-1), 20_000)),
    ]);
    clearInterval(sampler);
    console.log(`ws back-pressure: peak unsent ${(peak / MiB).toFixed(1)} MiB on the server socket`);
    c.ws.resume();
    expect(peak).toBeLessThan(4 * MiB);
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - sentAt).toBeLessThan(15_000); // stall limit 4 s, plus making and compressing the stream
    expect(s.gw.logs.text).toContain('websocket client is not reading; closing');
    // The 1008 close frame waits behind the backlog: a client that reads it in time sees 1008, else the socket
    // is dropped (1006) 5 s later.
    expect([1008, 1006]).toContain((await c.closed).code);
  });

  it('a client that stops reading for less than the stall limit still gets the whole answer', async () => {
    s.fake.configure({ eventDelayMs: 0 });
    const text = incompressible(4000); // ~4 MiB
    s.fake.respondWith({ text });
    const c = await connectWs(s.gw, s.key);
    c.ws.pause();
    c.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5.5', stream: true, input: 'hi' }));
    // Reads nothing for 1 s (a quarter of the stall limit: a loaded machine needs the rest to drain), then all.
    await new Promise((r) => setTimeout(r, 1000));
    c.ws.resume();
    const done = await c
      .next((f) => f.type === 'response.completed', 30_000)
      .catch((e) => {
        throw new Error(
          `${e.message}: ${c.frames.length} frames, ${JSON.stringify(c.frames.at(-1)).slice(0, 200)}`,
        );
      });
    expect(done.response.output[0].content[0].text.length).toBe(text.length);
    c.ws.close();
  });
});
