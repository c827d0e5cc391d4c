import { decodeTokenClaims, jwtExpiry } from './claims.js';

function jwt(payload: Record<string, unknown>): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256', typ: 'JWT' })}.${b(payload)}.c2ln`;
}

describe('decodeTokenClaims', () => {
  it('reads email, account, user, plan and expiry', () => {
    const id = jwt({
      email: 'a@example.com',
      'https://api.openai.com/auth': {
        chatgpt_account_id: 'acct-1',
        chatgpt_plan_type: 'pro',
        chatgpt_user_id: 'user-1',
      },
    });
    const access = jwt({ exp: 2_000_000_000 });
    expect(decodeTokenClaims(id, access)).toEqual({
      email: 'a@example.com',
      chatgptAccountId: 'acct-1',
      chatgptUserId: 'user-1',
      planType: 'pro',
      accessTokenExpiresAt: new Date(2_000_000_000_000),
    });
  });
  it('falls back to the access token claims and to user_id', () => {
    const access = jwt({
      exp: 1_900_000_000,
      'https://api.openai.com/profile': { email: 'b@example.com' },
      'https://api.openai.com/auth': { chatgpt_account_id: 'acct-2', user_id: 'u-2' },
    });
    expect(decodeTokenClaims(null, access)).toMatchObject({
      email: 'b@example.com',
      chatgptAccountId: 'acct-2',
      chatgptUserId: 'u-2',
      planType: null,
    });
  });
  it('tolerates garbage', () => {
    expect(decodeTokenClaims('nope', 'x.y.z')).toEqual({
      email: null,
      chatgptAccountId: null,
      chatgptUserId: null,
      planType: null,
      accessTokenExpiresAt: null,
    });
    expect(jwtExpiry(undefined)).toBeNull();
  });
});
