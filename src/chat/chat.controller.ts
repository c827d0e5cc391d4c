import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiKeyGuard } from '../keys/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { GatewayPipeline } from '../gateway/pipeline.service.js';
import { bodyBytes, ClientRelay } from '../gateway/relay.js';
import { relayEvents, WHOLE_STREAM } from '../gateway/relay-events.js';
import { ChatTranslator, type StreamOutput } from './from-responses.js';
import { mapChatRequest } from './to-responses.js';

/**
 * POST /v1/chat/completions: maps the request (pure), opens the upstream stream through the same pipeline as
 * /v1/responses (pool, failover, limits, usage, metrics), and translates events as they arrive.
 * The HTTP status is held until the upstream has started, so failures before that are real 4xx/5xx.
 */
@ApiExcludeController()
@Controller('v1/chat')
@UseGuards(ApiKeyGuard)
export class ChatController {
  constructor(
    private readonly pipeline: GatewayPipeline,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('completions')
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @CurrentAuth() auth: RequestAuth,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await serveChat(this.pipeline, this.config, body, auth, req, reply);
  }
}

/**
 * Cursor's Azure-style route (issue 24): `POST /openai/deployments/{deployment}/chat/completions?api-version=…`
 * with an `api-key` header is /v1/chat/completions with `model` = the deployment (`api-version` is ignored).
 */
@ApiExcludeController()
@Controller('openai/deployments')
@UseGuards(ApiKeyGuard)
export class AzureChatController {
  constructor(
    private readonly pipeline: GatewayPipeline,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post(':deployment/chat/completions')
  @HttpCode(200)
  async create(
    @Param('deployment') deployment: string,
    @Body() body: unknown,
    @CurrentAuth() auth: RequestAuth,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const withModel =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? { ...body, model: deployment }
        : body;
    await serveChat(this.pipeline, this.config, withModel, auth, req, reply);
  }
}

async function serveChat(
  pipeline: GatewayPipeline,
  config: AppConfig,
  body: unknown,
  auth: RequestAuth,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const {
    body: responsesBody,
    meta,
    dropped,
  } = mapChatRequest(body, {
    reasoningContent: config.CHAT_REASONING_CONTENT,
  });
  const relay = new ClientRelay(reply);
  try {
    const opened = await pipeline.open({
      auth,
      body: responsesBody,
      endpoint: 'chat',
      clientStream: meta.stream,
      requestId: req.id,
      signal: relay.signal,
      dropped,
      bodyBytes: bodyBytes(req),
    });
    const t = new ChatTranslator(meta);
    if (!meta.stream) {
      const broke = await relayEvents(opened.events, WHOLE_STREAM, (ev) => t.push(ev.type, ev.data));
      if (broke) t.fail(broke.message, broke.errorClass ?? 'server_error');
      reply.headers(opened.headers).status(200).send(t.completion()); // throws ApiError (→ envelope) when the upstream failed
      return;
    }
    relay.startSse(req.id, opened.headers);
    const write = (outs: StreamOutput[]) => {
      for (const o of outs) relay.writeData(o);
    };
    const broke = await relayEvents(opened.events, relay, (ev) => {
      if (t.done) return; // cut by a stop sequence: the client is served; read on for the real usage
      write(t.push(ev.type, ev.data));
      if (t.done) relay.dispose();
    });
    if (broke) write(t.fail(broke.message, broke.errorClass ?? 'server_error'));
    else if (!t.done && !relay.aborted)
      write(t.fail('The upstream stream ended before the response was complete.', 'server_error'));
  } finally {
    relay.dispose();
  }
}
