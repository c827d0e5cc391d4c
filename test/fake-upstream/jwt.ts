import { createHmac, randomBytes } from 'node:crypto';

/**
 * Signs the fake's id/access tokens (HS256, per-process secret) with the claims of docs/upstream-protocol.md §3.
 * Signed synchronously with node:crypto rather than jose (whose sign() is async) so `fake.addAccount()` can
 * return its tokens at once; the gateway never verifies these signatures (docs/upstream-protocol.md §3: decode only).
 */
const secret = randomBytes(32);

export interface TokenClaims {
  email: string;
  chatgptAccountId: string;
  chatgptUserId: string;
  planType: string;
}

const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function sign(payload: Record<string, unknown>): string {
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

const authClaim = (c: TokenClaims) => ({
  chatgpt_account_id: c.chatgptAccountId,
  chatgpt_plan_type: c.planType,
  chatgpt_user_id: c.chatgptUserId,
  user_id: c.chatgptUserId,
  organizations: [{ id: `org-${c.chatgptAccountId}`, is_default: true, role: 'owner', title: 'Personal' }],
});

const common = (c: TokenClaims, ttlSeconds: number) => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://auth.openai.com',
    sub: `auth0|${c.chatgptUserId}`,
    iat: now,
    exp: now + ttlSeconds,
    jti: randomBytes(8).toString('hex'),
  };
};

export function signIdToken(c: TokenClaims, ttlSeconds = 3600): string {
  return sign({
    ...common(c, ttlSeconds),
    aud: 'app_EMoamEEZ73f0CkXaXp7hrann',
    email: c.email,
    email_verified: true,
    'https://api.openai.com/auth': authClaim(c),
  });
}

export function signAccessToken(c: TokenClaims, ttlSeconds: number): string {
  return sign({
    ...common(c, ttlSeconds),
    aud: ['https://api.openai.com/v1'],
    'https://api.openai.com/auth': authClaim(c),
    'https://api.openai.com/profile': { email: c.email, email_verified: true },
    scp: ['openid', 'profile', 'email', 'offline_access'],
  });
}
