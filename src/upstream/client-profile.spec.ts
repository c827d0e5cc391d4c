import { clientProfileHeaders, clientUserAgent } from './client-profile.js';
import { release } from 'node:os';

const profile = {
  CODEX_ORIGINATOR: 'codex_exec',
  CODEX_CLIENT_VERSION: '0.169.0',
  CODEX_USER_AGENT: undefined,
  CODEX_UA_OS: 'Debian 12.0.0',
  CODEX_UA_ARCH: 'x86_64',
  CODEX_UA_TERMINAL: 'xterm',
};

describe('client profile', () => {
  it('uses the configured user agent verbatim', () => {
    expect(clientProfileHeaders({ ...profile, CODEX_USER_AGENT: 'ua/1' })).toEqual({
      originator: 'codex_exec',
      'user-agent': 'ua/1',
    });
  });
  it('builds exactly the captured backend user agent, with the (originator; version) suffix', () => {
    expect(clientUserAgent(profile)).toBe(
      'codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)',
    );
  });
  it('builds the short form the refresh and revoke calls carry (docs/upstream-protocol.md §3, §1)', () => {
    expect(clientUserAgent(profile, 'short')).toBe('codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm');
    expect(clientProfileHeaders(profile, 'short', 'codex_cli_rs')).toEqual({
      originator: 'codex_cli_rs',
      'user-agent': 'codex_cli_rs/0.169.0 (Debian 12.0.0; x86_64) xterm',
    });
  });
  it('takes the OS string from the operator, never from this host', () => {
    const ua = clientUserAgent({ ...profile, CODEX_UA_OS: 'Mac OS 26.5.0', CODEX_UA_ARCH: 'arm64' });
    expect(ua).toBe('codex_exec/0.169.0 (Mac OS 26.5.0; arm64) xterm (codex_exec; 0.169.0)');
    expect(clientUserAgent(profile)).not.toContain(release());
  });
});
