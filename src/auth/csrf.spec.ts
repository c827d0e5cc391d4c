import { isSameOrigin } from './csrf.js';

describe('isSameOrigin', () => {
  const pub = 'https://gw.example.com';
  it.each([
    [{ origin: 'https://gw.example.com' }, true],
    [{ origin: 'https://gw.example.com:443' }, true],
    [{ origin: 'https://evil.example.com' }, false],
    [{ origin: 'http://gw.example.com' }, false],
    [{ origin: 'null' }, false],
    [{ referer: 'https://gw.example.com/admin/keys' }, true],
    [{ referer: 'https://evil.example.com/gw.example.com' }, false],
    [{}, false],
    // The Host header is not trusted: only PUBLIC_URL counts.
    [{ origin: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }, false],
    [{ origin: 'https://evil.example.com', host: 'evil.example.com' }, false],
    // Origin: null is refused even with a same-origin Referer.
    [{ origin: 'null', referer: 'https://gw.example.com/admin' }, false],
    [{ origin: 'http://127.0.0.1:5001', host: '127.0.0.1:5000' }, false],
  ])('%j -> %s', (h, want) => {
    expect(isSameOrigin(h, pub, 'http')).toBe(want);
  });
});
