import { createServer } from 'node:net';
import { parseProxyUrl, proxyEndpoint, ProxyUrlError } from './egress.js';
import { refusal, unreachable } from './egress-dispatchers.js';

describe('parseProxyUrl', () => {
  it('takes http, https and socks5 with optional user:pass and default ports', () => {
    expect(parseProxyUrl('http://proxy.example:3128')).toMatchObject({
      scheme: 'http',
      host: 'proxy.example',
      port: 3128,
      endpoint: 'http://proxy.example:3128',
      username: null,
    });
    expect(parseProxyUrl('https://u:p%40ss@proxy.example')).toMatchObject({
      port: 443,
      endpoint: 'https://proxy.example:443',
      username: 'u',
      password: 'p@ss',
    });
    expect(parseProxyUrl('socks5://a:b@10.0.0.1')).toMatchObject({
      port: 1080,
      endpoint: 'socks5://10.0.0.1:1080',
    });
    expect(parseProxyUrl('socks5://[::1]:9050')).toMatchObject({
      host: '::1',
      endpoint: 'socks5://[::1]:9050',
    });
  });

  it.each([
    ['ftp://h:1', /http:\/\/, https:\/\/ or socks5/],
    ['socks4://h:1', /http:\/\/, https:\/\/ or socks5/],
    ['http://h:1/path', /no path/],
    ['http://h:1?x=1', /no path/],
    ['not a url', /spaces/],
    ['nourl', /not a valid URL/],
    ['http://:secret@h:1', /password without a user/],
  ])('refuses %s without repeating it', (raw, msg) => {
    let err: unknown;
    try {
      parseProxyUrl(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProxyUrlError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('secret');
  });

  it('proxyEndpoint never returns the credential and never throws', () => {
    expect(proxyEndpoint('http://user:topsecret@h:8080')).toBe('http://h:8080');
    expect(proxyEndpoint('garbage')).toBeNull();
    expect(proxyEndpoint(null)).toBeNull();
  });
});

describe('proxy failure diagnosis', () => {
  it('names a proxy that answered no, and leaves a 5xx on CONNECT to the circuit', () => {
    expect(refusal(new Error('Proxy response (407) !== 200 when HTTP Tunneling'))).toBe(
      'HTTP 407, credentials refused',
    );
    expect(refusal({ message: 'fetch failed', cause: new Error('Proxy response (403) !== 200') })).toBe(
      'HTTP 403 to CONNECT',
    );
    expect(refusal(new Error('Proxy response (502) !== 200 when HTTP Tunneling'))).toBeNull();
    expect(refusal(new Error('Socks5 Authentication failed'))).toBe('SOCKS5 authentication refused');
    expect(refusal(new Error('other read ECONNRESET'))).toBeNull();
  });

  it('a TCP connect tells a dead proxy from a live one', async () => {
    const srv = createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    expect(await unreachable({ host: '127.0.0.1', port })).toBeNull();
    await new Promise((r) => srv.close(r));
    expect(await unreachable({ host: '127.0.0.1', port })).toBe('ECONNREFUSED');
  });
});
