import { ApiError } from '../common/errors.js';
import { parseProxyUrl, ProxyUrlError } from '../upstream/egress.js';
import type { CredentialsCipher } from './credentials.js';

/**
 * The account's egress proxy as stored (issue 25 item 1; docs/security.md "Egress proxies"): the URL sealed like
 * the tokens, its scheme://host:port in clear. Nothing here returns or logs the URL itself.
 */
export interface ProxyColumns {
  proxyUrlSealed: Uint8Array<ArrayBuffer> | null;
  proxyKeyId: string | null;
  proxyEndpoint: string | null;
}

export interface ProxyRow {
  id: string;
  proxyUrlSealed: Uint8Array | null;
  proxyKeyId: string | null;
  proxyEndpoint: string | null;
}

/** The columns for a new proxy URL (null clears it). A bad URL is a 400 naming `field`, never echoing the URL. */
export function proxyColumns(
  cipher: CredentialsCipher,
  accountId: string,
  proxyUrl: string | null,
  field = 'proxyUrl',
): ProxyColumns {
  if (proxyUrl === null) return { proxyUrlSealed: null, proxyKeyId: null, proxyEndpoint: null };
  let t;
  try {
    t = parseProxyUrl(proxyUrl);
  } catch (err) {
    if (err instanceof ProxyUrlError)
      throw ApiError.badRequest(`${field} ${err.message}.`, field, 'invalid_proxy_url');
    throw err;
  }
  const sealed = cipher.sealProxy(accountId, t.url);
  return { proxyUrlSealed: sealed.data, proxyKeyId: sealed.keyId, proxyEndpoint: t.endpoint };
}

/** Checks a proxy URL given before the account exists (login start): the normalised URL, or a 400 naming it. */
export function checkProxyUrl(proxyUrl: string | null | undefined, field = 'proxyUrl'): string | null {
  if (proxyUrl === undefined || proxyUrl === null) return null;
  try {
    return parseProxyUrl(proxyUrl).url;
  } catch (err) {
    if (err instanceof ProxyUrlError)
      throw ApiError.badRequest(`${field} ${err.message}.`, field, 'invalid_proxy_url');
    throw err;
  }
}

/** The stored URL in clear (for the dispatcher only), or null. */
export function openProxyUrl(cipher: CredentialsCipher, row: ProxyRow): string | null {
  if (!row.proxyUrlSealed || !row.proxyKeyId) return null;
  return cipher.openProxy(row.id, row.proxyUrlSealed, row.proxyKeyId);
}

/** What the admin API shows of an account's egress: the endpoint, never the credential. */
export interface ProxyView {
  /** `proxy`: its own; `environment`: HTTPS_PROXY/HTTP_PROXY of the gateway; `direct`: neither. */
  via: 'proxy' | 'environment' | 'direct';
  endpoint: string | null;
  scheme: string | null;
  host: string | null;
  port: number | null;
  /** Other accounts leaving through the same proxy endpoint (ids): they look like one address upstream. */
  sharedWith: string[];
}

export function proxyView(endpoint: string | null, sharedWith: string[], envDefault: boolean): ProxyView {
  if (!endpoint)
    return {
      via: envDefault ? 'environment' : 'direct',
      endpoint: null,
      scheme: null,
      host: null,
      port: null,
      sharedWith: [],
    };
  const m = /^([a-z0-9]+):\/\/(.+):(\d+)$/.exec(endpoint);
  return {
    via: 'proxy',
    endpoint,
    scheme: m?.[1] ?? null,
    host: m ? m[2].replace(/^\[|\]$/g, '') : null,
    port: m ? Number(m[3]) : null,
    sharedWith,
  };
}

/** Account ids per proxy endpoint, to flag accounts that share one. */
export function sharing(
  rows: { id: string; proxyEndpoint: string | null }[],
): (row: { id: string; proxyEndpoint: string | null }) => string[] {
  const by = new Map<string, string[]>();
  for (const r of rows)
    if (r.proxyEndpoint) by.set(r.proxyEndpoint, [...(by.get(r.proxyEndpoint) ?? []), r.id]);
  return (row) => (row.proxyEndpoint ? (by.get(row.proxyEndpoint) ?? []).filter((id) => id !== row.id) : []);
}
