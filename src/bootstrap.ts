import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { AppModule, type Role } from './app.module.js';
import { ReportingWorker } from './queue/queue.module.js';
import { RedisService } from './redis/redis.service.js';
import type { AppConfig } from './config/config.schema.js';
import { createLogger, PinoNestLogger } from './common/logger.js';
import { TracingService } from './telemetry/telemetry.module.js';
import { clientErrorHandler, frameworkErrors, registerJsonParser } from './common/http-edge.js';
import { registerBodyGate } from './common/body-gate.js';
import { capConnectionsPerAddress } from './common/connection-cap.js';
import { AdminAuthentication } from './common/admin-guards.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Ours, always: a client's `x-request-id` is never the request's id (usage rows, logs, the answer's header). */
export function requestIdFor(_req?: IncomingMessage): string {
  return `req_${randomUUID().replace(/-/g, '')}`;
}

/** The client's own `x-request-id` when sane: logged next to ours as `clientRequestId`, for correlation. */
export function clientRequestId(req: IncomingMessage): string | null {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : null;
}

/** TRUST_PROXY → Fastify's trustProxy: unset/false = off, true, a hop count, or addresses/CIDRs. */
export function trustProxySetting(
  v: string | undefined,
): boolean | string | ((addr: string, hop: number) => boolean) {
  if (!v || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return (_addr: string, hop: number) => hop < hops;
  }
  return v;
}

/** Node's request/headers timeouts, checked often enough that a short setting holds within a quarter of it. */
function edgeTimeouts(config: AppConfig) {
  const request = config.REQUEST_TIMEOUT_MS;
  const headers = request > 0 ? Math.min(config.HEADERS_TIMEOUT_MS, request) : config.HEADERS_TIMEOUT_MS;
  const check = Math.max(100, Math.min(30_000, Math.floor(Math.min(headers, request || headers) / 4)));
  return { requestTimeout: request, http: { headersTimeout: headers, connectionsCheckingInterval: check } };
}

export interface CreateAppOptions {
  role?: Role;
  /** Where JSON logs go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /** A logger made by the caller (main.ts makes one before the start-up checks); wins over logDestination. */
  logger?: Logger;
}

export interface GatewayApp {
  app: NestFastifyApplication;
  logger: Logger;
}

/**
 * Builds the Nest application on Fastify with everything the HTTP edge needs: JSON logs with request ids,
 * body limit, OpenAI error envelope for parser errors and unknown routes, OpenAPI docs for the admin API.
 * Used by `main.ts` and by the e2e tests (which call `app.listen(0)`), so both run the same app.
 */
export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<GatewayApp> {
  const role = opts.role ?? 'all';
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL, opts.logDestination);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // Our onResponse hook writes one line per request (with route and latency) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdFor,
    // The request (head and body) must arrive in time; the answer has no deadline here, so long SSE streams and
    // upgraded WebSockets are not cut (the upstream client has its own idle timeout). Issue 22 item 11.
    ...edgeTimeouts(config),
    trustProxy: trustProxySetting(config.TRUST_PROXY),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot({ config, role }), adapter, {
    logger: new PinoNestLogger(logger.child({ name: 'nest' })),
    bodyParser: false, // our own JSON-only parser below (no form-urlencoded on JSON routes)
  });
  const fastify = app.getHttpAdapter().getInstance();
  capConnectionsPerAddress(fastify.server, config.MAX_CONNECTIONS_PER_ADDRESS, config.TRUST_PROXY);
  // Only JSON bodies are accepted; text/plain or forms would slip past validation (and CSRF's preflight).
  registerJsonParser(fastify);
  // Bodies over 64 KiB are read only for a usable key or session (issue 22 item 10).
  const authn = role === 'worker' ? null : app.get(AdminAuthentication, { strict: false });
  if (authn) registerBodyGate(fastify, (req) => authn.credentialsValid(req));
  // No fastify.setErrorHandler here: Nest installs its own on init (app.listen), and it answers every error,
  // also those Fastify raises before Nest's pipeline (e.g. an unsupported Content-Type), through the global
  // ErrorEnvelopeFilter. A second handler in the same scope was never reached and made Fastify warn (FSTWRN004).

  // Traces (off unless OTEL_* says where to send them): a server span per request, active for the whole request.
  const tracing = app.get(TracingService);
  if (tracing.enabled) {
    fastify.addHook('onRequest', (request, _reply, done) => tracing.runInServerSpan(request, done));
  }

  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const route = request.routeOptions?.url ?? 'unmatched';
    const traceId = tracing.enabled ? tracing.traceIdOf(request.raw) : null;
    const clientId = clientRequestId(request.raw);
    const entry = {
      reqId: request.id,
      ...(clientId ? { clientRequestId: clientId } : {}),
      method: request.method,
      route,
      status,
      latencyMs: Math.round(reply.elapsedTime * 10) / 10,
      ...(traceId ? { traceId } : {}),
    };
    if (traceId) tracing.endServerSpan(request.raw, { route, status });
    if (status >= 500) logger.error(entry, 'request');
    else if (request.url === '/healthz' || request.url === '/readyz' || request.url === '/metrics')
      logger.debug(entry, 'request');
    else logger.info(entry, 'request');
  });

  if (role !== 'worker') {
    const doc = new DocumentBuilder()
      .setTitle('Codex Gateway admin API')
      .setDescription('Manage subscription accounts, users, virtual keys and usage.')
      .setVersion('1')
      .addBearerAuth()
      .addCookieAuth('cg_session')
      .build();
    SwaggerModule.setup('admin/api/docs', app, () => SwaggerModule.createDocument(app, doc), {
      jsonDocumentUrl: 'admin/api/openapi.json',
    });
  }
  return { app, logger };
}

/**
 * Shutdown in the right order: first the HTTP server stops accepting and waits for in-flight requests and streams
 * (Fastify's close: new requests get 503/refused, idle keep-alive sockets are closed), then BullMQ workers finish
 * their running jobs, then Nest's module destroy hooks run (usage records flushed, Prisma/Redis/BullMQ closed). Nest's own `app.close()` alone destroys the
 * modules first, which would pull Redis and Postgres from under streams still running.
 */
export async function closeGracefully(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // forceCloseConnections: 'idle' closes the connections idle when close() starts; a keep-alive connection whose
  // request ends later (a load balancer's pooled connection to this process) would stay open until its keep-alive
  // timeout and hold the drain to the grace period. Close those too, as each turns idle.
  const sweep = setInterval(() => fastify.server.closeIdleConnections(), 100);
  try {
    if (fastify.server.listening) await fastify.close();
  } finally {
    clearInterval(sweep);
  }
  // Background jobs too (worker role): running jobs finish while Redis and Postgres are still there.
  await ReportingWorker.closeAll(app.get(RedisService, { strict: false }));
  await app.close();
}
