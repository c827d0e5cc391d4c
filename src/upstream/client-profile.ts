import { arch, platform, release } from 'node:os';
import type { AppConfig } from '../config/config.schema.js';

/**
 * The client profile (docs/upstream-protocol.md §4): the `originator` and `user-agent` the Codex CLI sends. One place, from the
 * settings CODEX_ORIGINATOR / CODEX_CLIENT_VERSION / CODEX_USER_AGENT; reused by the upstream client.
 * The default user agent follows the captured shape `codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm`; the OS
 * part is this machine's, which is our guess at what the CLI computes (docs/upstream-protocol.md §3).
 */
export type ClientProfileConfig = Pick<
  AppConfig,
  'CODEX_ORIGINATOR' | 'CODEX_CLIENT_VERSION' | 'CODEX_USER_AGENT'
>;

const OS_NAMES: Record<string, string> = { linux: 'Linux', darwin: 'Mac OS', win32: 'Windows' };

export function defaultUserAgent(
  originator: string,
  version: string,
  os = `${OS_NAMES[platform()] ?? platform()} ${release()}`,
  cpu = arch(),
): string {
  const machine = cpu === 'x64' ? 'x86_64' : cpu === 'arm64' ? 'arm64' : cpu;
  return `${originator}/${version} (${os}; ${machine}) xterm`;
}

export function clientUserAgent(c: ClientProfileConfig): string {
  return c.CODEX_USER_AGENT ?? defaultUserAgent(c.CODEX_ORIGINATOR, c.CODEX_CLIENT_VERSION);
}

/** `originator` + `user-agent`, as sent on the refresh request (docs/upstream-protocol.md §3) and the backend requests. */
export function clientProfileHeaders(c: ClientProfileConfig): { originator: string; 'user-agent': string } {
  return { originator: c.CODEX_ORIGINATOR, 'user-agent': clientUserAgent(c) };
}
