import { hashPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('round-trips and records the cost', async () => {
    const h = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(h).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('wrong', h)).toBe(false);
  });
  it('rejects junk', async () => {
    expect(await verifyPassword('x', null)).toBe(false);
    expect(await verifyPassword('x', 'plain')).toBe(false);
  });
});
