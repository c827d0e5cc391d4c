import { clientProfileHeaders, defaultUserAgent } from './client-profile.js';

describe('client profile', () => {
  it('uses the configured user agent verbatim', () => {
    expect(
      clientProfileHeaders({
        CODEX_ORIGINATOR: 'codex_exec',
        CODEX_CLIENT_VERSION: '0.169.0',
        CODEX_USER_AGENT: 'ua/1',
      }),
    ).toEqual({ originator: 'codex_exec', 'user-agent': 'ua/1' });
  });
  it('builds the captured shape by default', () => {
    expect(defaultUserAgent('codex_exec', '0.169.0', 'Debian 12.0.0', 'x64')).toBe(
      'codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm',
    );
    const h = clientProfileHeaders({
      CODEX_ORIGINATOR: 'codex_exec',
      CODEX_CLIENT_VERSION: '0.169.0',
      CODEX_USER_AGENT: undefined,
    });
    expect(h['user-agent']).toMatch(/^codex_exec\/0\.169\.0 \(.+; .+\) xterm$/);
  });
});
