import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the web admin (web/dist), from src/web-admin or dist/web-admin alike. */
export const WEB_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';

const MISSING = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codex Gateway</title></head>
<body><main><h1>The web admin is not built</h1>
<p>This gateway runs without its web admin files (<code>web/dist</code> is missing).
Run <code>npm run build</code> (it builds the server and the web admin) and restart the gateway.
The admin API at <code>/admin/api</code> works meanwhile.</p></main></body></html>`;

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
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(MISSING);
    }
    return reply.header('cache-control', NO_CACHE).type('text/html; charset=utf-8').send(html);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]);
    } catch {
      return reply.callNotFound(); // malformed %-encoding: no such file
    }
    if (path === '/admin/api' || path.startsWith('/admin/api/')) return reply.callNotFound();
    const rel = normalize(path.replace(/^\/admin\/?/, ''));
    if (rel && rel !== '.' && !rel.startsWith('..') && !rel.includes(`${sep}..`) && rel !== 'index.html') {
      const file = join(root, rel);
      const info = await stat(file).catch(() => null);
      if (info?.isFile()) {
        const hashed = rel.startsWith(`assets${sep}`);
        reply.header('cache-control', hashed ? IMMUTABLE : NO_CACHE);
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
