import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { WebSocket } from 'ws';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { KeyCacheService } from '../keys/key-cache.service.js';
import { authenticateKey, usable } from '../keys/api-key.guard.js';
import { extractKey, hashKey } from '../keys/key-format.js';
import { GatewayPipeline } from '../gateway/pipeline.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ModelsService } from '../models/models.service.js';
import { catalogEtag } from '../models/models.catalog.js';
import { errorFrame, SocketSession, WS_CLOSE } from './ws-session.js';

/** How often every open socket's key is re-read from the key cache (revocation closes within a second). */
const RECHECK_MS = 500;

declare module 'fastify' {
  interface FastifyRequest {
    wsEtag?: string;
  }
}

/**
 * Responses over WebSocket at GET /v1/responses (the Codex CLI's default transport, docs/upstream-protocol.md §8): the upgrade is
 * authenticated with the virtual key like any /v1 request; each `response.create` frame becomes one pass through
 * the GatewayPipeline (same limits, pool, failover before the first byte, usage rows and metrics as HTTP), sent
 * upstream over HTTP + SSE with the whole history (ADR 0009), and the upstream events go back one JSON text frame
 * each. A socket keeps its account while that account serves it. RESPONSES_WEBSOCKET=false answers the upgrade
 * with 426 at once, which makes the CLI use HTTP for the rest of its session.
 * A socket keeps no permission from its upgrade: every frame is admitted with the key's current state, and every
 * RECHECK_MS the key of each open socket is read from the key cache (kept coherent across replicas by pub/sub), so
 * a revoked or expired key or a disabled or deleted user closes the socket (1008) on every replica.
 */
@Injectable()
export class ResponsesSocketServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('responses-ws');
  private readonly perKey = new Map<string, number>();
  /** Remembered-history bytes per key (its sockets on this replica share the budget). */
  private readonly histories = new Map<string, { used: number; max: number }>();
  /** Open sessions by the hash of their key. */
  private readonly sessions = new Map<SocketSession, string>();
  private recheck?: NodeJS.Timeout;
  readonly open: Gauge<string>;
  readonly closes: Counter<string>;
  readonly upgrades: Counter<string>;
  readonly responses: Counter<string>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: KeyCacheService,
    private readonly pipeline: GatewayPipeline,
    private readonly models: ModelsService,
    metrics: MetricsService,
  ) {
    this.open = new Gauge({
      name: 'cg_ws_connections',
      help: 'Responses WebSocket connections open now',
      registers: [metrics.registry],
    });
    this.closes = new Counter({
      name: 'cg_ws_closes_total',
      help: 'Responses WebSocket connections closed, by close code',
      labelNames: ['code'],
      registers: [metrics.registry],
    });
    this.upgrades = new Counter({
      name: 'cg_ws_upgrades_total',
      help: 'Responses WebSocket upgrade requests by outcome (accepted, off = 426, unauthorized, not_upgrade = 405)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.responses = new Counter({
      name: 'cg_ws_responses_total',
      help: 'response.create frames taken on Responses WebSockets (prewarm = answered by the gateway)',
      labelNames: ['kind'],
      registers: [metrics.registry],
    });
  }

  /** After Nest set up its routes and error handler (registering earlier would take Fastify's default handler). */
  onApplicationBootstrap(): void {
    this.recheck = setInterval(() => void this.recheckKeys(), RECHECK_MS);
    this.recheck.unref();
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register(async (scope) => {
      await scope.register(websocket, {
        options: { maxPayload: this.config.RESPONSES_WS_MAX_FRAME_BYTES, perMessageDeflate: true },
        errorHandler: (err, socket) => {
          this.logger.debug({ err: err.message }, 'websocket error');
          socket.terminate();
        },
      });
      scope.websocketServer.on('headers', (headers: string[], raw: any) => {
        if (raw.wsEtag) headers.push(`x-models-etag: ${raw.wsEtag}`);
      });
      scope.get(
        '/v1/responses',
        { websocket: true, preValidation: (req, reply) => this.admitUpgrade(req, reply) },
        (socket: WebSocket, req: FastifyRequest) => this.connection(socket, req),
      );
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.recheck);
  }

  /** Closes the sockets whose key is no longer usable (one cache read per distinct key). */
  private async recheckKeys(): Promise<void> {
    if (this.sessions.size === 0) return;
    const now = Date.now();
    const verdict = new Map<string, Promise<boolean>>();
    for (const [session, hash] of this.sessions) {
      let ok = verdict.get(hash);
      if (!ok) {
        // A cache or database failure keeps the socket: its next frame is checked again anyway.
        ok = this.keys.lookup(hash).then(
          (k) => k !== null && usable(k, now),
          () => true,
        );
        verdict.set(hash, ok);
      }
      if (!(await ok)) session.revoke();
    }
  }

  private historyBudget(keyId: string): { used: number; max: number } {
    let b = this.histories.get(keyId);
    if (!b) {
      b = { used: 0, max: this.config.RESPONSES_WS_HISTORY_BYTES_PER_KEY };
      this.histories.set(keyId, b);
    }
    return b;
  }

  /** Before the upgrade: 405 for a plain GET, 426 when switched off, 401 for a bad key (same rules as HTTP). */
  private async admitUpgrade(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!req.ws) {
      const err = new ApiError(
        405,
        'Method GET is not allowed on /v1/responses without a WebSocket upgrade. Allowed: POST.',
        'invalid_request_error',
        null,
        'method_not_allowed',
        { allow: 'POST' },
      );
      this.upgrades.inc({ outcome: 'not_upgrade' });
      return sendError(reply, err);
    }
    if (!this.config.RESPONSES_WEBSOCKET) {
      const err = new ApiError(
        426,
        'Responses over WebSocket are switched off on this gateway; use POST /v1/responses.',
        'invalid_request_error',
        null,
        'upgrade_required',
      );
      this.upgrades.inc({ outcome: 'off' });
      return sendError(reply, err);
    }
    const key = extractKey(req.headers);
    const auth = key ? await authenticateKey(this.keys, key) : null;
    if (!auth) {
      this.upgrades.inc({ outcome: 'unauthorized' });
      return sendError(
        reply,
        ApiError.unauthorized(
          key
            ? 'Incorrect API key provided, or the key was revoked or expired.'
            : "You didn't provide an API key. Provide it as 'Authorization: Bearer YOUR_KEY' or in the 'api-key' header.",
        ),
      );
    }
    req.auth = auth;
    this.upgrades.inc({ outcome: 'accepted' });
    const st = await this.models.state().catch(() => null);
    if (st) (req.raw as any).wsEtag = catalogEtag(st.version, auth.allowedModels, true);
  }

  private connection(socket: WebSocket, req: FastifyRequest): void {
    const auth = req.auth!;
    const key = extractKey(req.headers)!;
    const keyId = auth.keyId ?? auth.userId;
    const count = (this.perKey.get(keyId) ?? 0) + 1;
    this.perKey.set(keyId, count);
    this.open.inc();
    let session: SocketSession | null = null;
    socket.once('close', (code: number) => {
      if (session) this.sessions.delete(session);
      const n = (this.perKey.get(keyId) ?? 1) - 1;
      if (n <= 0) {
        this.perKey.delete(keyId);
        this.histories.delete(keyId);
      } else this.perKey.set(keyId, n);
      this.open.dec();
      this.closes.inc({ code: String(code) });
    });
    if (count > this.config.RESPONSES_WS_MAX_PER_KEY) {
      const err = ApiError.rateLimited(
        'Too many WebSocket connections for this key.',
        5,
        'too_many_connections',
      );
      socket.send(JSON.stringify(errorFrame(err)));
      socket.close(WS_CLOSE.tryAgainLater, 'too many connections for this key');
      return;
    }
    session = new SocketSession(socket, auth, req, this.config, this.pipeline, this.models, this.logger, {
      currentAuth: () => authenticateKey(this.keys, key),
      admitLocal: (current) => this.pipeline.admitLocal(current),
      count: (kind) => this.responses.inc({ kind }),
      historyBudget: this.historyBudget(keyId),
    });
    this.sessions.set(session, hashKey(key));
    session.start();
  }
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.httpStatus).headers(err.headers).send(err.toBody());
}
