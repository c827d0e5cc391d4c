import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import { envelope } from './errors.js';

/**
 * At most `max` open TCP connections per client address (issue 22 item 11): one address cannot hold every socket
 * with slow or idle connections. The cap is on the peer address, so it is not applied to a trusted proxy
 * (TRUST_PROXY), whose connections carry many clients; the proxy limits its own clients. Past the cap a new
 * connection gets a 429 envelope and is closed before any request on it is read.
 */
export function capConnectionsPerAddress(server: Server, max: number, trustProxy: string | undefined): void {
  if (max <= 0) return;
  const trusted = trustedPeer(trustProxy);
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    if (trusted(addr)) return;
    const n = open.get(addr) ?? 0;
    if (n >= max) {
      const body = JSON.stringify(
        envelope(
          `Too many open connections from your address (at most ${max}).`,
          'rate_limit_error',
          null,
          'too_many_connections',
        ),
      );
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ` +
          `${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`,
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open.set(addr, n + 1);
    socket.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left > 0) open.set(addr, left);
      else open.delete(addr);
    });
  });
}

/** Peers that are proxies by TRUST_PROXY: every peer for `true` or a hop count, the listed ones otherwise. */
function trustedPeer(v: string | undefined): (addr: string) => boolean {
  if (!v || v === 'false') return () => false;
  if (v === 'true' || /^\d+$/.test(v)) return () => true;
  const trust = proxyAddr.compile(v.split(',').map((s) => s.trim()));
  return (addr) => trust(addr, 0);
}
