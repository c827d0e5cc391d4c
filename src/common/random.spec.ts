import { idBytes } from './random.js';

describe('idBytes (pooled CSPRNG bytes for request identifiers)', () => {
  it('never hands out the same bytes twice, across block refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(idBytes(16).toString('hex')); // 80,000 bytes: ~20 refills
    expect(seen.size).toBe(5000);
  });

  it('returns copies of the requested length; changing one leaves the next untouched', () => {
    const a = idBytes(12);
    expect(a).toHaveLength(12);
    a.fill(0);
    const b = idBytes(12);
    expect(b.equals(Buffer.alloc(12))).toBe(false);
    expect(() => idBytes(5000)).toThrow(RangeError);
  });
});
