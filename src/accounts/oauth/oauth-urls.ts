/**
 * URL building and parsing for the subscription OAuth flows (docs/upstream-protocol.md §1, §2). Pure functions.
 */
export const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:1455/auth/callback';
/** Scopes the gateway needs (0.169 also appends api.connectors.*, which the gateway does not use). */
export const OAUTH_SCOPE = 'openid profile email offline_access';

export interface AuthorizeParams {
  issuer: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state: string;
  originator: string;
}

/** The authorize URL with the parameters in the order the CLI sends them (docs/upstream-protocol.md §1). */
export function buildAuthorizeUrl(p: AuthorizeParams): string {
  const q = new URLSearchParams();
  q.set('response_type', 'code');
  q.set('client_id', p.clientId);
  q.set('redirect_uri', p.redirectUri);
  q.set('code_challenge', p.codeChallenge);
  q.set('code_challenge_method', 'S256');
  q.set('state', p.state);
  q.set('scope', OAUTH_SCOPE);
  q.set('id_token_add_organizations', 'true');
  q.set('codex_cli_simplified_flow', 'true');
  q.set('originator', p.originator);
  return `${p.issuer}/oauth/authorize?${q.toString()}`;
}

export function deviceRedirectUri(issuer: string): string {
  return `${issuer}/deviceauth/callback`;
}

export function deviceVerificationUri(issuer: string): string {
  return `${issuer}/codex/device`;
}

export type CallbackResult =
  | { ok: true; code: string; state: string; redirectUri: string }
  | { ok: false; reason: 'invalid_url' | 'wrong_target' | 'missing_code' }
  | {
      ok: false;
      reason: 'oauth_error';
      state: string | null;
      error: string;
      errorDescription: string | null;
    };

const CALLBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);

/**
 * Parses the callback address the admin pasted (`http://127.0.0.1:1455/auth/callback?code=…&state=…`, older
 * clients `localhost`). Accepts surrounding whitespace and a missing scheme. The redirect URI used for the code
 * exchange must be the one of the authorize request, which is reconstructed from the pasted host.
 */
export function parseCallbackUrl(input: string): CallbackResult {
  let text = input.trim();
  if (!/^https?:\/\//i.test(text)) text = `http://${text}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, reason: 'invalid_url' };
  }
  if (!CALLBACK_HOSTS.has(u.hostname) || u.pathname.replace(/\/+$/, '') !== '/auth/callback') {
    return { ok: false, reason: 'wrong_target' };
  }
  const state = u.searchParams.get('state');
  const error = u.searchParams.get('error');
  if (error) {
    return {
      ok: false,
      reason: 'oauth_error',
      state,
      error,
      errorDescription: u.searchParams.get('error_description'),
    };
  }
  const code = u.searchParams.get('code');
  if (!code || !state) return { ok: false, reason: 'missing_code' };
  return { ok: true, code, state, redirectUri: `http://${u.hostname}:${u.port || '1455'}/auth/callback` };
}
