import { ApiError } from '../common/errors.js';

/**
 * CSRF defence for cookie-authenticated, state-changing admin calls: the request's Origin (or, only when there is
 * no Origin header at all, the Referer's origin) must equal PUBLIC_URL's origin. `Origin: null` (sandboxed
 * frames, data: URLs, some redirects) is refused outright, whatever the Referer says; the request's own Host
 * header is not trusted (an attacker's DNS name can point at the gateway). No Origin and no Referer is refused
 * (browsers send Origin on cross-site POSTs; tools use bearer keys instead).
 */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function originOf(u: string | undefined): string | null {
  if (!u) return null;
  try {
    const o = new URL(u).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

export function isSameOrigin(
  headers: { origin?: string; referer?: string; host?: string },
  publicUrl: string,
  _protocol?: 'http' | 'https',
): boolean {
  const source = headers.origin !== undefined ? originOf(headers.origin) : originOf(headers.referer);
  if (!source) return false;
  return source === originOf(publicUrl);
}

/** Throws 403 `csrf_origin_mismatch` unless the request comes from PUBLIC_URL's origin (see isSameOrigin). */
export function assertSameOrigin(
  headers: { origin?: string; referer?: string; host?: string },
  publicUrl: string,
): void {
  if (!isSameOrigin(headers, publicUrl)) throw csrfRefusal();
}

export const csrfRefusal = () =>
  ApiError.forbidden('Cross-origin request refused (Origin does not match).', 'csrf_origin_mismatch');
