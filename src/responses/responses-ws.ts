import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { RawData, WebSocket } from 'ws';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from '../common/auth-context.js';
import { KeyCacheService } from '../keys/key-cache.service.js';
import { authenticateKey } from '../keys/api-key.guard.js';
import { extractKey } from '../keys/key-format.js';
import { isModelAllowed } from '../keys/model-access.js';
import { GatewayPipeline } from '../gateway/pipeline.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ModelsService } from '../models/models.service.js';
import { catalogEtag } from '../models/models.catalog.js';
import { codexHeaders } from './responses.controller.js';
import { eventText, frameInput, ResponseChain } from './ws-chain.js';

/** Close codes (RFC 6455 §7.4.1). 1009 (too big) is sent by `ws` itself when a frame exceeds maxPayload. */
export const WS_CLOSE = {
  normal: 1000,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policy: 1008,
  tryAgainLater: 1013,
} as const;

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
 */
@Injectable()
export class ResponsesSocketServer implements OnApplicationBootstrap {
  private readonly logger = new Logger('responses-ws');
  private readonly perKey = new Map<string, number>();
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
    const keyId = auth.keyId ?? auth.userId;
    const count = (this.perKey.get(keyId) ?? 0) + 1;
    this.perKey.set(keyId, count);
    this.open.inc();
    socket.once('close', (code: number) => {
      const n = (this.perKey.get(keyId) ?? 1) - 1;
      if (n <= 0) this.perKey.delete(keyId);
      else this.perKey.set(keyId, n);
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
    const session = new SocketSession(
      socket,
      auth,
      req,
      this.config,
      this.pipeline,
      this.models,
      this.logger,
      (kind) => this.responses.inc({ kind }),
    );
    session.start();
  }
}

/** One client socket: frames in, one pipeline pass per response, events out; idle timer; chain of responses. */
class SocketSession {
  private readonly id = `ws_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  private readonly chain: ResponseChain;
  private busy: AbortController | null = null;
  private idle: NodeJS.Timeout | null = null;
  private accountId: string | null = null;
  private turn: { id: string; state: string } | null = null;
  private seq = 0;
  private closed = false;
  private readonly codex: { turnState: string | null; betaFeatures: string | null };

  constructor(
    private readonly socket: WebSocket,
    private readonly auth: RequestAuth,
    req: FastifyRequest,
    private readonly config: AppConfig,
    private readonly pipeline: GatewayPipeline,
    private readonly models: ModelsService,
    private readonly logger: Logger,
    private readonly count: (kind: 'prewarm' | 'response') => void,
  ) {
    this.chain = new ResponseChain({ keep: 4, maxBytes: config.BODY_LIMIT_BYTES });
    this.codex = codexHeaders(req);
  }

  start(): void {
    this.logger.log({ conn: this.id, keyId: this.auth.keyId }, 'websocket opened');
    this.socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.socket.once('close', (code: number) => {
      this.closed = true;
      this.busy?.abort();
      if (this.idle) clearTimeout(this.idle);
      this.logger.log({ conn: this.id, code }, 'websocket closed');
    });
    this.armIdle();
  }

  private armIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (!this.busy) this.socket.close(WS_CLOSE.normal, 'idle timeout');
    }, this.config.RESPONSES_WS_IDLE_SECONDS * 1000);
    this.idle.unref();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    this.armIdle();
    if (isBinary) {
      this.socket.close(WS_CLOSE.unsupportedData, 'binary frames are not supported');
      return;
    }
    let frame: any;
    try {
      frame = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    } catch {
      this.socket.close(WS_CLOSE.invalidPayload, 'frames must be JSON');
      return;
    }
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      this.socket.close(WS_CLOSE.invalidPayload, 'frames must be JSON objects');
      return;
    }
    if (frame.type === 'response.processed') return;
    if (frame.type !== 'response.create') {
      this.send(
        errorFrame(
          ApiError.badRequest(
            `Unsupported frame type '${String(frame.type)}'; send 'response.create'.`,
            'type',
            'invalid_value',
          ),
        ),
      );
      return;
    }
    if (this.busy) {
      this.send(
        errorFrame(
          ApiError.conflict(
            'A response is already in progress on this connection.',
            null,
            'response_in_progress',
          ),
        ),
      );
      return;
    }
    const ac = new AbortController();
    this.busy = ac;
    this.create(frame, ac)
      .catch((err) => {
        this.logger.warn({ conn: this.id, err: (err as Error).message }, 'websocket response failed');
        this.send(errorFrame(ApiError.badGateway('The response failed.', 'internal')));
      })
      .finally(() => {
        if (this.busy === ac) this.busy = null;
        this.armIdle();
      });
  }

  private async create(frame: Record<string, any>, ac: AbortController): Promise<void> {
    const { type: _type, generate, previous_response_id: previousId, ...rest } = frame;
    const newItems = frameInput(rest.input);
    if (!newItems) {
      this.send(errorFrame(ApiError.badRequest("'input' must be a string or an array of items.", 'input')));
      return;
    }
    if (previousId !== undefined && previousId !== null && typeof previousId !== 'string') {
      this.send(
        errorFrame(ApiError.badRequest("'previous_response_id' must be a string.", 'previous_response_id')),
      );
      return;
    }
    const input = this.chain.inputFor(previousId ?? null, newItems);
    if (!input) {
      this.send(
        errorFrame(
          ApiError.badRequest(
            `Previous response with id '${previousId}' not found.`,
            'previous_response_id',
            'previous_response_not_found',
          ),
        ),
      );
      return;
    }
    this.count(generate === false ? 'prewarm' : 'response');
    if (generate === false) return this.prewarm(rest, input);
    const turnId = typeof rest.client_metadata?.turn_id === 'string' ? rest.client_metadata.turn_id : null;
    const turn = this.turn;
    const turnState = turnId && turn && turn.id === turnId ? turn.state : this.codex.turnState;
    const opened = await this.pipeline
      .open({
        auth: this.auth,
        body: { ...rest, input },
        endpoint: 'responses',
        clientStream: true,
        requestId: `${this.id}_${++this.seq}`,
        signal: ac.signal,
        codex: { turnState, betaFeatures: this.codex.betaFeatures },
        preferAccountId: this.accountId,
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError) {
          this.send(errorFrame(err));
          return null;
        }
        throw err;
      });
    if (!opened) return;
    this.accountId = opened.accountId;
    if (opened.turnState && turnId) this.turn = { id: turnId, state: opened.turnState };
    const output: unknown[] = [];
    let responseId: string | null = null;
    let completedOutput: unknown[] | null = null;
    try {
      for await (const ev of opened.events) {
        if (this.closed) break;
        if (ev.type === 'response.output_item.done' && ev.data?.item) output.push(ev.data.item);
        if (ev.type === 'response.completed') {
          responseId = typeof ev.data?.response?.id === 'string' ? ev.data.response.id : null;
          completedOutput = Array.isArray(ev.data?.response?.output) ? ev.data.response.output : null;
        }
        if (
          ev.type === 'response.completed' ||
          ev.type === 'response.failed' ||
          ev.type === 'response.incomplete'
        ) {
          // Ready for the next frame *before* the client sees the end: the CLI chains its next response.create as
          // soon as this frame arrives, while the pipeline is still settling usage for this one.
          if (responseId)
            this.chain.remember(responseId, input, output.length ? output : (completedOutput ?? []));
          responseId = null;
          if (this.busy === ac) this.busy = null;
        }
        this.sendText(eventText(ev));
      }
    } catch (err) {
      if (this.closed) return;
      this.send({
        type: 'error',
        status: 502,
        error: {
          type: 'server_error',
          code: (err as { errorClass?: string }).errorClass ?? 'stream_disconnected',
          message: (err as Error).message,
          param: null,
        },
      });
      return;
    }
    if (responseId) this.chain.remember(responseId, input, output.length ? output : (completedOutput ?? []));
  }

  /**
   * `generate: false` (the CLI's prewarm, docs/upstream-protocol.md §8): nothing to generate, so nothing goes upstream. The
   * gateway answers `response.created` + `response.completed` with no output and remembers the input, so the
   * next frame can chain to it.
   */
  private async prewarm(rest: Record<string, any>, input: unknown[]): Promise<void> {
    let model: string;
    try {
      const resolved = await this.models.resolveAlias(rest);
      model = String(resolved.model ?? '');
      if (!model)
        throw ApiError.badRequest(
          "Missing required parameter: 'model'.",
          'model',
          'missing_required_parameter',
        );
      if (!isModelAllowed(this.auth.allowedModels, String(rest.model)))
        throw ApiError.forbidden(
          `This key is not allowed to use the model '${String(rest.model)}'.`,
          'model_not_allowed',
        );
    } catch (err) {
      if (err instanceof ApiError) return void this.send(errorFrame(err));
      throw err;
    }
    const id = `resp_${randomUUID().replace(/-/g, '')}`;
    const response = {
      id,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      model,
      status: 'in_progress',
      output: [] as unknown[],
    };
    this.send({ type: 'response.created', sequence_number: 0, response });
    this.chain.remember(id, input, []);
    this.send({
      type: 'response.completed',
      sequence_number: 1,
      response: {
        ...response,
        status: 'completed',
        usage: {
          input_tokens: 0,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 0,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 0,
        },
      },
    });
  }

  private send(frame: unknown): void {
    this.sendText(JSON.stringify(frame));
  }

  private sendText(text: string): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(text);
  }
}

/** The error frame the backend sends over WebSocket (`type: error` with the HTTP status), which the CLI maps. */
export function errorFrame(err: ApiError): Record<string, unknown> {
  return {
    type: 'error',
    status: err.httpStatus,
    error: err.toBody().error,
    ...(Object.keys(err.headers).length ? { headers: err.headers } : {}),
  };
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.httpStatus).headers(err.headers).send(err.toBody());
}
