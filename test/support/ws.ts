import WebSocket from 'ws';
import type { TestGateway } from './gateway.js';

/** A Responses WebSocket client for tests: every frame kept in order, waits for a frame, the close. */
export interface WsConn {
  ws: WebSocket;
  frames: any[];
  closed: Promise<{ code: number; reason: string; at: number }>;
  next(pred: (f: any) => boolean, timeoutMs?: number): Promise<any>;
}

/** Opens `GET /v1/responses` as a WebSocket with the key; rejects with `status` when the upgrade is refused. */
export function connectWs(
  gw: TestGateway,
  key: string,
  headers: Record<string, string> = {},
): Promise<WsConn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/v1/responses`, {
      headers: { authorization: `Bearer ${key}`, ...headers },
    });
    const frames: any[] = [];
    const waiters: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
    ws.on('message', (d) => {
      const f = JSON.parse(String(d));
      frames.push(f);
      for (const w of [...waiters])
        if (w.pred(f)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(f);
        }
    });
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: String(reason), at: Date.now() })),
    );
    ws.on('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error('refused'), { status: res.statusCode })),
    );
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        frames,
        closed,
        next: (pred, timeoutMs = 5000) =>
          new Promise((res, rej) => {
            const hit = frames.find(pred);
            if (hit) return res(hit);
            const t = setTimeout(() => rej(new Error('timeout waiting for a frame')), timeoutMs);
            waiters.push({ pred, resolve: (f) => (clearTimeout(t), res(f)) });
          }),
      }),
    );
  });
}
