/**
 * An account's egress proxy URL (issue 25 item 1; docs/security.md "Egress proxies"): `http://`, `https://` or
 * `socks5://`, optional `user:pass@`, a host and a port, nothing else. Pure. The whole URL is a secret (it may hold
 * a credential): only `endpoint` (scheme://host:port) is ever shown, logged or compared between accounts.
 */
export type ProxyScheme = 'http' | 'https' | 'socks5';

export interface ProxyTarget {
  /** The URL as given, normalised (what is sealed and what the dispatcher is built from). */
  url: string;
  scheme: ProxyScheme;
  host: string;
  port: number;
  /** scheme://host:port: the only part of the URL that leaves the process (admin API, logs, health message). */
  endpoint: string;
  username: string | null;
  password: string | null;
}

const DEFAULT_PORT: Record<ProxyScheme, number> = { http: 80, https: 443, socks5: 1080 };

export class ProxyUrlError extends Error {}

/** Parses and checks a proxy URL; throws ProxyUrlError with a message that never repeats the URL itself. */
export function parseProxyUrl(raw: string): ProxyTarget {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048)
    throw new ProxyUrlError('must be a URL of at most 2048 characters');
  if (/\s/.test(raw) || [...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw new ProxyUrlError('must not contain spaces or control characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ProxyUrlError('is not a valid URL (expected scheme://[user:pass@]host:port)');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5')
    throw new ProxyUrlError('must use http://, https:// or socks5://');
  if (!u.hostname) throw new ProxyUrlError('needs a host');
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash)
    throw new ProxyUrlError('must have no path, query or fragment');
  if (u.password && !u.username) throw new ProxyUrlError('has a password without a user name');
  const port = u.port ? Number(u.port) : DEFAULT_PORT[scheme];
  const hostPort = `${u.hostname}:${port}`;
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return {
    url: `${scheme}://${auth}${hostPort}`,
    scheme,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    endpoint: `${scheme}://${hostPort}`,
    username: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
  };
}

/** The endpoint of a stored URL, or null when it does not parse (never throws, never returns a credential). */
export function proxyEndpoint(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return parseProxyUrl(url).endpoint;
  } catch {
    return null;
  }
}
