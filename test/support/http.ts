import { connect } from 'node:net';
import pg from 'pg';
import type { TestGateway } from './gateway.js';

/** One HTTP call with fetch; the body is parsed as JSON when there is one. */
export interface CallResult {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function call(
  gw: TestGateway,
  method: string,
  path: string,
  opts: {
    key?: string;
    cookie?: string;
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<CallResult> {
  const r = await fetch(gw.url + path, {
    method,
    headers: {
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: tryJson(text), text };
}

/** Sends raw bytes on a fresh TCP connection and returns everything the server wrote until it closed (or ms). */
export function rawHttp(gw: TestGateway, request: string | Buffer, ms = 3000): Promise<string> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), ms);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => (chunks.length ? undefined : reject(e)));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.write(request);
  });
}

/** Status code and JSON body of a raw HTTP/1.1 answer. */
export function parseRaw(text: string): { status: number; body: any; head: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const [head, ...rest] = text.split('\r\n\r\n');
  const payload = rest.join('\r\n\r\n');
  // Plain or chunked: the JSON object is the outermost {…}.
  const body = tryJson(payload) ?? tryJson(/\{.*\}/s.exec(payload)?.[0] ?? '');
  return { status, body, head };
}

export async function dbQuery(gw: TestGateway, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** True when `body` is OpenAI's error envelope. */
export function isEnvelope(body: any): boolean {
  return (
    !!body &&
    typeof body === 'object' &&
    typeof body.error === 'object' &&
    typeof body.error.message === 'string' &&
    typeof body.error.type === 'string' &&
    'param' in body.error &&
    'code' in body.error
  );
}

/** A user with a password, signed in: returns the session cookie pair and the Origin to send with it. */
export async function signIn(
  gw: TestGateway,
  opts: { role?: 'admin' | 'member'; password?: string } = {},
): Promise<{ cookie: string; origin: string; userId: string; email: string; password: string }> {
  const { hashPassword } = await import('../../src/auth/password.js');
  const { createUser } = await import('./auth.js');
  const password = opts.password ?? 'correct horse battery';
  const u = await createUser(gw, {
    role: opts.role ?? 'member',
    passwordHash: await hashPassword(password, { N: 1 << 10, r: 8, p: 1 }),
  });
  const origin = new URL(gw.config.PUBLIC_URL).origin;
  const r = await call(gw, 'POST', '/admin/api/auth/login', {
    body: { email: u.email, password },
    headers: { origin },
  });
  if (r.status !== 200) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
  return { cookie, origin, userId: u.id, email: u.email, password };
}

function tryJson(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
