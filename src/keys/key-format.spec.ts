import { displayPrefix, extractKey, generateKey, hashKey, isWellFormedKey } from './key-format.js';

describe('key format', () => {
  it('generates sk-cg- + 43 base62 chars, all different', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateKey()));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^sk-cg-[0-9A-Za-z]{43}$/);
  });

  it('drops biased bytes (rejection sampling)', () => {
    // Only 255s first (all rejected), then zeros: the key must be all '0'.
    let calls = 0;
    const k = generateKey((n) => Buffer.alloc(n, calls++ === 0 ? 255 : 0));
    expect(k).toBe('sk-cg-' + '0'.repeat(43));
    expect(calls).toBe(2);
  });

  it('hashes the whole key with sha256 hex and shows 10 chars', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(displayPrefix('sk-cg-ABCDEFGH')).toBe('sk-cg-ABCD');
  });

  it.each([
    [{ authorization: 'Bearer sk-cg-x' }, 'sk-cg-x'],
    [{ authorization: 'bearer  sk-cg-x ' }, 'sk-cg-x'],
    [{ 'api-key': 'sk-cg-y' }, 'sk-cg-y'],
    [{ authorization: 'Basic abc' }, null],
    [{}, null],
  ])('extracts the key from %j', (h, want) => {
    expect(extractKey(h)).toBe(want);
  });

  it('checks the shape', () => {
    expect(isWellFormedKey(generateKey())).toBe(true);
    expect(isWellFormedKey('sk-cg-short')).toBe(false);
  });
});
