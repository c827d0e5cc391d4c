import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../common/http-edge.js';
import type { RequestAuth } from '../common/auth-context.js';
import { isModelAllowed } from '../keys/model-access.js';
import type { GatewayPipeline } from '../gateway/pipeline.service.js';
import { relayEvents, type EventSink } from '../gateway/relay-events.js';
import type { ModelsService } from '../models/models.service.js';
import { EVENT, isEvent, isTerminal, type OutputItem } from '../upstream/events.js';
import { codexHeaders } from './codex-headers.js';
import { eventText, frameInput, ResponseChain } from './ws-chain.js';

/**
 * The session protocol of a Responses WebSocket (docs/upstream-protocol.md §8): `response.create` frames in, one
 * pipeline pass per response, the upstream events out as one JSON text frame each, `previous_response_id` chained
 * per socket, `generate: false` answered by the gateway, an idle timer. The socket server is responses-ws.ts.
 */

/** Close codes (RFC 6455 §7.4.1). 1009 (too big) is sent by `ws` itself when a frame exceeds maxPayload. */
export const WS_CLOSE = {
  normal: 1000,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policy: 1008,
  tryAgainLater: 1013,
} as const;

/** Unsent bytes on a socket past which the upstream stream waits for the client (back-pressure). */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;

/** Reason of the 1008 close when the key stops being usable (revoked, expired, user disabled or deleted). */
export const KEY_UNUSABLE_REASON = 'the API key was revoked or expired, or its user disabled';

/** What a session needs of its server: the key's current state, frame admission, the counters. */
export interface SessionHooks {
  /** The key's and user's state now (null: unusable), read from the key cache for every frame. */
  currentAuth(): Promise<RequestAuth | null>;
  /** Admission of a frame the gateway answers itself (prewarm): counts against RPM like any request. */
  admitLocal(auth: RequestAuth): Promise<void>;
  count(kind: 'prewarm' | 'response'): void;
  /** The remembered-history budget shared by the key's sockets on this replica. */
  historyBudget: { used: number; max: number };
}

/**
 * One client socket: frames in, one pipeline pass per response, events out; idle timer; maximum lifetime; chain
 * of responses. Every frame is admitted with the key's current state (issue 22, item 1): the upgrade's
 * authentication is not reused.
 */
export class SocketSession implements EventSink {
  private readonly id = `ws_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  private readonly chain: ResponseChain;
  private busy: AbortController | null = null;
  private idle: NodeJS.Timeout | null = null;
  private lifetime: NodeJS.Timeout | null = null;
  private expired = false;
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
    private readonly hooks: SessionHooks,
  ) {
    this.chain = new ResponseChain({
      keep: 4,
      maxBytes: config.BODY_LIMIT_BYTES,
      socketBytes: config.RESPONSES_WS_HISTORY_BYTES_PER_SOCKET,
      keyBudget: hooks.historyBudget,
    });
    this.codex = codexHeaders(req);
  }

  /** The socket closed (EventSink of relayEvents). */
  get gone(): boolean {
    return this.closed;
  }

  /**
   * Back-pressure (EventSink of relayEvents): while more than WS_HIGH_WATER_BYTES wait to be sent, the upstream
   * stream is not read; a client that does not take half of them within RESPONSES_WS_SEND_STALL_SECONDS is closed
   * (1008, and dropped 5 s later if it does not read the close frame either).
   */
  drained(): Promise<void> | null {
    if (this.socket.bufferedAmount <= WS_HIGH_WATER_BYTES) return null;
    const deadline = Date.now() + this.config.RESPONSES_WS_SEND_STALL_SECONDS * 1000;
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        const unsent = this.socket.bufferedAmount;
        if (this.closed || unsent <= WS_HIGH_WATER_BYTES / 2) return (clearInterval(poll), resolve());
        if (Date.now() < deadline) return;
        clearInterval(poll);
        this.logger.warn({ conn: this.id, unsent }, 'websocket client is not reading; closing');
        this.close(WS_CLOSE.policy, 'the client is not reading');
        setTimeout(() => this.socket.terminate(), 5000).unref();
        resolve();
      }, 20);
    });
  }

  start(): void {
    this.logger.log({ conn: this.id, keyId: this.auth.keyId }, 'websocket opened');
    this.socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.socket.once('close', (code: number) => {
      this.closed = true;
      this.busy?.abort();
      if (this.idle) clearTimeout(this.idle);
      if (this.lifetime) clearTimeout(this.lifetime);
      this.chain.clear();
      this.logger.log({ conn: this.id, code }, 'websocket closed');
    });
    this.armIdle();
    // Not re-armed by anything: a socket cannot be kept alive forever by sending frames.
    this.lifetime = setTimeout(() => {
      this.expired = true;
      if (!this.busy) this.close(WS_CLOSE.normal, 'maximum lifetime reached');
    }, this.config.RESPONSES_WS_MAX_LIFETIME_SECONDS * 1000);
    this.lifetime.unref();
  }

  /** The key stopped being usable (checked by the server on every replica, and at every frame). */
  revoke(): void {
    this.close(WS_CLOSE.policy, KEY_UNUSABLE_REASON);
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.busy?.abort();
    this.socket.close(code, reason);
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
    // The HTTP body parser's depth limit, for frames too (issue 22, item 9).
    if (jsonDepth(frame, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      this.send(
        errorFrame(
          ApiError.badRequest(
            `The frame is nested too deeply (more than ${MAX_JSON_DEPTH} levels).`,
            null,
            'json_too_deep',
          ),
        ),
      );
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
        // A key suspended meanwhile (keys/api-key.guard.ts) is told so; anything else is a failed response.
        if (err instanceof ApiError && err.code === 'key_suspended_policy') return this.send(errorFrame(err));
        this.logger.warn({ conn: this.id, err: (err as Error).message }, 'websocket response failed');
        this.send(errorFrame(ApiError.badGateway('The response failed.', 'internal')));
      })
      .finally(() => {
        if (this.busy === ac) this.busy = null;
        if (this.expired) this.close(WS_CLOSE.normal, 'maximum lifetime reached');
        else this.armIdle();
      });
  }

  private async create(frame: Record<string, any>, ac: AbortController): Promise<void> {
    const auth = await this.hooks.currentAuth();
    if (!auth) return this.revoke();
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
    this.hooks.count(generate === false ? 'prewarm' : 'response');
    if (generate === false) return this.prewarm(auth, rest, input);
    const turnId = typeof rest.client_metadata?.turn_id === 'string' ? rest.client_metadata.turn_id : null;
    const turn = this.turn;
    const turnState = turnId && turn && turn.id === turnId ? turn.state : this.codex.turnState;
    const opened = await this.pipeline
      .open({
        auth,
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
    let completedOutput: OutputItem[] | null = null;
    const broke = await relayEvents(opened.events, this, (ev) => {
      if (isEvent(ev, EVENT.outputItemDone) && ev.data?.item) output.push(ev.data.item);
      if (isEvent(ev, EVENT.completed)) {
        const response = ev.data?.response;
        responseId = typeof response?.id === 'string' ? response.id : null;
        completedOutput = Array.isArray(response?.output) ? response.output : null;
      }
      if (isTerminal(ev)) {
        // Ready for the next frame *before* the client sees the end: the CLI chains its next response.create as
        // soon as this frame arrives, while the pipeline is still settling usage for this one.
        if (responseId)
          this.chain.remember(responseId, input, output.length ? output : (completedOutput ?? []));
        responseId = null;
        if (this.busy === ac) this.busy = null;
      }
      this.sendText(eventText(ev));
    });
    if (broke) {
      this.send({
        type: 'error',
        status: 502,
        error: {
          type: 'server_error',
          code: broke.errorClass ?? 'stream_disconnected',
          message: broke.message,
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
  private async prewarm(auth: RequestAuth, rest: Record<string, any>, input: unknown[]): Promise<void> {
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
      if (!isModelAllowed(auth.allowedModels, String(rest.model)))
        throw ApiError.forbidden(
          `This key is not allowed to use the model '${String(rest.model)}'.`,
          'model_not_allowed',
        );
      await this.hooks.admitLocal(auth);
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
    this.send({ type: EVENT.created, sequence_number: 0, response });
    this.chain.remember(id, input, []);
    this.send({
      type: EVENT.completed,
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
