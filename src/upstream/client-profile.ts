import type { AppConfig } from '../config/config.schema.js';

/**
 * The client profile (docs/upstream-protocol.md, docs/upstream-protocol.md §3–§4): the `originator` and `user-agent` the Codex CLI
 * sends, in one place. The user agent is built as the CLI builds it:
 *   `<originator>/<version> (<OS name> <OS version>; <arch>) <terminal>`
 * and, on the backend calls made once the CLI's in-process app-server client is registered (every `/responses`
 * request, the later `/models` calls), with ` (<originator>; <version>)` appended. The token refresh (and the
 * logout's revoke) happen before that and carry the short form (docs/upstream-protocol.md §3, §1).
 * The machine part comes from CODEX_UA_OS / CODEX_UA_ARCH / CODEX_UA_TERMINAL (defaults: the captured CLI's
 * `Debian 12.0.0; x86_64` and `xterm`): stable per deployment and never read from this host, so the upstream never
 * sees a container kernel release. CODEX_USER_AGENT replaces the whole value when set.
 */
export type ClientProfileConfig = Pick<
  AppConfig,
  | 'CODEX_ORIGINATOR'
  | 'CODEX_CLIENT_VERSION'
  | 'CODEX_USER_AGENT'
  | 'CODEX_UA_OS'
  | 'CODEX_UA_ARCH'
  | 'CODEX_UA_TERMINAL'
>;

/** `short`: before the app-server client registers (refresh, revoke); `client`: backend calls (responses, models). */
export type UserAgentForm = 'short' | 'client';

export function buildUserAgent(
  originator: string,
  version: string,
  machine: { os: string; arch: string; terminal: string },
  form: UserAgentForm,
): string {
  const base = `${originator}/${version} (${machine.os}; ${machine.arch}) ${machine.terminal}`;
  return form === 'client' ? `${base} (${originator}; ${version})` : base;
}

export function clientUserAgent(
  c: ClientProfileConfig,
  form: UserAgentForm = 'client',
  originator = c.CODEX_ORIGINATOR,
): string {
  if (c.CODEX_USER_AGENT) return c.CODEX_USER_AGENT;
  return buildUserAgent(
    originator,
    c.CODEX_CLIENT_VERSION,
    { os: c.CODEX_UA_OS, arch: c.CODEX_UA_ARCH, terminal: c.CODEX_UA_TERMINAL },
    form,
  );
}

/** `originator` + `user-agent` for one kind of call (see UserAgentForm). */
export function clientProfileHeaders(
  c: ClientProfileConfig,
  form: UserAgentForm = 'client',
  originator = c.CODEX_ORIGINATOR,
): { originator: string; 'user-agent': string } {
  return { originator, 'user-agent': clientUserAgent(c, form, originator) };
}
