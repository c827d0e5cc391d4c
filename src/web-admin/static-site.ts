import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { envelope } from '../common/errors.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the web admin (web/dist), from src/web-admin or dist/web-admin alike. */
export const WEB_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/** Fastify's default maxParamLength (the router answers 414 past it). */
const MAX_PARAM_LENGTH = 100;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';

const MISSING = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codex Gateway</title></head>
<body><main><h1>The web admin is not built</h1>
<p>This gateway runs without its web admin files (<code>web/dist</code> is missing).
Run <code>npm run build</code> (it builds the server and the web admin) and restart the gateway.
The admin API at <code>/admin/api</code> works meanwhile.</p></main></body></html>`;

/**
 * Hardening headers of every web-admin page and file (issue 22, item 12): the SPA's scripts, styles and API
 * calls are all same-origin, so the CSP allows 'self' only (inline styles for the style attributes React sets),
 * and no page may be framed (clickjacking on the setup link and the admin forms). No referrer leaves the page,
 * so a `?token=` of the first-run link never reaches another site.
 */
export const ADMIN_PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the single-page web admin at /admin: files under web/dist/assets (content-hashed names) are cached for a
 * year as immutable; index.html and anything else is revalidated on every load (no-cache), so a new deployment
 * shows at once. Any other /admin/* path gets index.html (the app routes in the browser), except /admin/api/*,
 * which stays the API's JSON 404. `GET /` redirects to /admin/.
 */
export function registerWebAdmin(fastify: FastifyInstance, root = WEB_DIST): void {
  // Not awaited: awaiting a register here would boot Fastify's plugin queue in the middle of Nest's init, and
  // the error handler Nest sets afterwards would no longer see body-parser errors. It loads at ready().
  void fastify.register(fastifyStatic, { root, serve: false, index: false });

  const sendIndex = async (reply: FastifyReply) => {
    let html: string;
    try {
      html = await readFile(join(root, 'index.html'), 'utf8');
    } catch {
      return reply
        .code(503)
        .headers(ADMIN_PAGE_HEADERS)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(MISSING);
    }
    return reply
      .headers(ADMIN_PAGE_HEADERS)
      .header('cache-control', NO_CACHE)
      .type('text/html; charset=utf-8')
      .send(html);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]);
    } catch {
      return reply.callNotFound(); // malformed %-encoding: no such file
    }
    if (path === '/admin/api' || path.startsWith('/admin/api/')) {
      // An API route whose path parameter is over the router's limit falls through to this wildcard: answer
      // what the router would have (414 envelope), not a 404.
      if (path.split('/').some((seg) => seg.length > MAX_PARAM_LENGTH)) {
        return reply
          .code(414)
          .type('application/json')
          .send(envelope('A path parameter is too long.', 'invalid_request_error', null, 'uri_too_long'));
      }
      return reply.callNotFound();
    }
    const rel = normalize(path.replace(/^\/admin\/?/, ''));
    if (rel && rel !== '.' && !rel.startsWith('..') && !rel.includes(`${sep}..`) && rel !== 'index.html') {
      const file = join(root, rel);
      const info = await stat(file).catch(() => null);
      if (info?.isFile()) {
        const hashed = rel.startsWith(`assets${sep}`);
        reply.headers(ADMIN_PAGE_HEADERS).header('cache-control', hashed ? IMMUTABLE : NO_CACHE);
        return reply.sendFile(rel, { cacheControl: false });
      }
      // A missing hashed asset is a real 404, not the app (an old page asking for a file of a former build).
      if (rel.startsWith(`assets${sep}`)) return reply.callNotFound();
    }
    return sendIndex(reply);
  };

  fastify.get('/', (_req, reply) => reply.redirect('/admin/', 302));
  fastify.get('/admin', handler);
  fastify.get('/admin/*', handler);
}
