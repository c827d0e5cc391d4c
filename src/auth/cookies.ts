import { parseCookie, stringifySetCookie } from 'cookie';

/** The admin session cookie, read and written with the `cookie` package (jshttp). */
export const SESSION_COOKIE = 'cg_session';

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  try {
    return parseCookie(header)[name] ?? null;
  } catch {
    return null;
  }
}

export function sessionCookie(value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return stringifySetCookie({
    name: SESSION_COOKIE,
    value,
    path: '/admin',
    httpOnly: true,
    sameSite: 'strict',
    maxAge: Math.max(0, Math.floor(opts.maxAgeSeconds)),
    secure: opts.secure,
  });
}
