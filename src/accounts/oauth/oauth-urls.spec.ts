import { buildAuthorizeUrl, parseCallbackUrl } from './oauth-urls.js';

describe('buildAuthorizeUrl', () => {
  it('puts the CLI parameters in the CLI order', () => {
    const url = buildAuthorizeUrl({
      issuer: 'https://auth.example',
      clientId: 'app_X',
      redirectUri: 'http://127.0.0.1:1455/auth/callback',
      codeChallenge: 'ch',
      state: 'st',
      originator: 'codex_cli_rs',
    });
    expect(url).toBe(
      'https://auth.example/oauth/authorize?response_type=code&client_id=app_X&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback' +
        '&code_challenge=ch&code_challenge_method=S256&state=st&scope=openid+profile+email+offline_access' +
        '&id_token_add_organizations=true&codex_cli_simplified_flow=true&originator=codex_cli_rs',
    );
  });
});

describe('parseCallbackUrl', () => {
  it.each([
    ['http://127.0.0.1:1455/auth/callback?code=c1&state=s1', 'http://127.0.0.1:1455/auth/callback'],
    [
      '  http://localhost:1455/auth/callback?code=c1&state=s1&scope=openid \n',
      'http://localhost:1455/auth/callback',
    ],
    ['localhost:1455/auth/callback?code=c1&state=s1', 'http://localhost:1455/auth/callback'],
  ])('accepts %s', (input, redirect) => {
    expect(parseCallbackUrl(input)).toEqual({ ok: true, code: 'c1', state: 's1', redirectUri: redirect });
  });
  it('reports an error callback', () => {
    expect(
      parseCallbackUrl(
        'http://127.0.0.1:1455/auth/callback?error=access_denied&error_description=no&state=s',
      ),
    ).toEqual({
      ok: false,
      reason: 'oauth_error',
      state: 's',
      error: 'access_denied',
      errorDescription: 'no',
    });
  });
  it.each([
    ['not a url at all %%', 'invalid_url'],
    ['https://evil.example/auth/callback?code=c&state=s', 'wrong_target'],
    ['http://127.0.0.1:1455/other?code=c&state=s', 'wrong_target'],
    ['http://127.0.0.1:1455/auth/callback?state=s', 'missing_code'],
    ['http://127.0.0.1:1455/auth/callback?code=c', 'missing_code'],
  ])('refuses %s', (input, reason) => {
    expect(parseCallbackUrl(input)).toMatchObject({ ok: false, reason });
  });
});
