import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply } from 'fastify';

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

/** Signs a browser in: the session cookie (Secure on https) and no caching of the answer. */
export function setSessionCookie(
  reply: FastifyReply,
  sid: string,
  config: { PUBLIC_URL: string; SESSION_ABSOLUTE_SECONDS: number },
): void {
  reply.header(
    'set-cookie',
    sessionCookie(sid, {
      secure: config.PUBLIC_URL.startsWith('https:'),
      maxAgeSeconds: config.SESSION_ABSOLUTE_SECONDS,
    }),
  );
  reply.header('cache-control', 'no-store');
}
