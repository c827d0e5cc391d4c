import { parseAuthJson } from './auth-json.js';

describe('parseAuthJson', () => {
  const full = {
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: 'sk-ignored',
    tokens: {
      id_token: 'i',
      access_token: 'a',
      refresh_token: 'r',
      account_id: 'acct-1',
      oauth_provenance: { issuer: 'x', client_id: 'y' },
      login_owner_id: 'z',
    },
    last_refresh: '2026-11-24T16:09:13.594235269Z',
  };
  it('reads a 0.169 file and ignores unknown keys', () => {
    const r = parseAuthJson(full);
    expect(r).toEqual({
      ok: true,
      tokens: {
        idToken: 'i',
        accessToken: 'a',
        refreshToken: 'r',
        accountId: 'acct-1',
        lastRefresh: expect.any(Date),
      },
    });
  });
  it('reads a JSON string and an older file', () => {
    const r = parseAuthJson(
      JSON.stringify({
        OPENAI_API_KEY: null,
        tokens: { id_token: 'i', access_token: 'a', refresh_token: 'r' },
      }),
    );
    expect(r).toMatchObject({ ok: true, tokens: { accountId: null, lastRefresh: null } });
  });
  it.each([
    ['{', 'authJson'],
    [[], 'authJson'],
    [{ OPENAI_API_KEY: 'sk-x' }, 'tokens'],
    [{ tokens: { id_token: 'i', access_token: 'a' } }, 'tokens.refresh_token'],
    [{ tokens: { id_token: '', access_token: 'a', refresh_token: 'r' } }, 'tokens.id_token'],
  ])('refuses %j', (input, param) => {
    expect(parseAuthJson(input)).toMatchObject({ ok: false, param });
  });
});
