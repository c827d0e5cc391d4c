import { decodeJwt } from 'jose';

/**
 * Claims the gateway reads from the id and access tokens (docs/upstream-protocol.md §3). Decoded, never verified (the tokens
 * come straight from the issuer over TLS; the backend verifies them). Missing claims stay null ("unknown").
 */
export interface TokenClaims {
  email: string | null;
  chatgptAccountId: string | null;
  chatgptUserId: string | null;
  planType: string | null;
  accessTokenExpiresAt: Date | null;
}

const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';

function safeDecode(token: string | null | undefined): Record<string, unknown> {
  if (!token) return {};
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Expiry of a JWT (its `exp`), or null when it is not a JWT or has no exp. */
export function jwtExpiry(token: string | null | undefined): Date | null {
  const exp = safeDecode(token).exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000) : null;
}

export function decodeTokenClaims(
  idToken: string | null | undefined,
  accessToken: string | null | undefined,
): TokenClaims {
  const id = safeDecode(idToken);
  const access = safeDecode(accessToken);
  const idAuth = obj(id[AUTH_CLAIM]);
  const accessAuth = obj(access[AUTH_CLAIM]);
  const pick = (k: string) => str(idAuth[k]) ?? str(accessAuth[k]);
  return {
    email: str(id.email) ?? str(obj(access[PROFILE_CLAIM]).email),
    chatgptAccountId: pick('chatgpt_account_id'),
    chatgptUserId: pick('chatgpt_user_id') ?? pick('user_id'),
    planType: pick('chatgpt_plan_type'),
    accessTokenExpiresAt: jwtExpiry(accessToken),
  };
}
