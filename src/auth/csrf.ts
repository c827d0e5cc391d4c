/**
 * CSRF defence for cookie-authenticated, state-changing admin calls: the request's Origin (or, without it, the
 * Referer's origin) must equal PUBLIC_URL's origin or the origin of the request's own Host. No Origin and no
 * Referer at all is refused (browsers send Origin on cross-site POSTs; tools use bearer keys instead).
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
  protocol: 'http' | 'https',
): boolean {
  const source = originOf(headers.origin) ?? originOf(headers.referer);
  if (!source) return false;
  const allowed = new Set<string>();
  const pub = originOf(publicUrl);
  if (pub) allowed.add(pub);
  if (headers.host) {
    const own = originOf(`${protocol}://${headers.host}`);
    if (own) allowed.add(own);
  }
  return allowed.has(source);
}
