import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors.js';
import { ApiKeyGuard } from '../keys/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { classifyFailure } from '../upstream/classify.js';
import { GatewayPipeline } from '../gateway/pipeline.service.js';
import { bodyBytes, ClientRelay } from '../gateway/relay.js';
import { relayEvents, WHOLE_STREAM } from '../gateway/relay-events.js';
import { EVENT } from '../upstream/events.js';
import { ResponseAssembler } from './response-assembler.js';
import { codexHeaders } from './codex-headers.js';

/**
 * POST /v1/responses. Streaming: upstream SSE events relayed as they arrive (codex.* removed); a break after the
 * first byte ends the stream with an `error` event. Non-streaming: the upstream streams anyway and the final
 * Response object is assembled. The client closing the connection aborts the upstream request at once.
 */
@ApiExcludeController()
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly pipeline: GatewayPipeline) {}

  @Post('responses')
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @CurrentAuth() auth: RequestAuth,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
    }
    const b = body as Record<string, unknown>;
    if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
      throw ApiError.badRequest("'stream' must be a boolean.", 'stream', 'invalid_value');
    }
    const clientStream = b.stream === true;
    const relay = new ClientRelay(reply);
    try {
      const opened = await this.pipeline.open({
        auth,
        body: b,
        endpoint: 'responses',
        clientStream,
        requestId: req.id,
        signal: relay.signal,
        codex: codexHeaders(req),
        bodyBytes: bodyBytes(req),
      });
      if (opened.turnState) reply.header('x-codex-turn-state', opened.turnState);
      if (!clientStream) {
        const asm = new ResponseAssembler();
        const broke = await relayEvents(opened.events, WHOLE_STREAM, (ev) => asm.push(ev));
        if (broke) throw ApiError.badGateway(broke.message, 'stream_disconnected');
        const result = asm.result();
        if (!result)
          throw ApiError.badGateway('The upstream ended without a response.', 'stream_disconnected');
        if (asm.terminal === EVENT.failed) {
          const e = result.error ?? {};
          const { status, type } = classifyFailure(e.code);
          throw ApiError.of({
            status,
            message: e.message ?? 'The upstream failed to produce a response.',
            type,
            code: e.code ?? null,
          });
        }
        reply.headers(opened.headers).status(200).send(result);
        return;
      }
      relay.startSse(
        req.id,
        opened.turnState ? { ...opened.headers, 'x-codex-turn-state': opened.turnState } : opened.headers,
      );
      const broke = await relayEvents(opened.events, relay, (ev) => relay.write(ev.raw));
      if (broke)
        relay.writeEvent('error', {
          type: 'error',
          code: broke.errorClass ?? 'stream_disconnected',
          message: broke.message,
          param: null,
        });
    } finally {
      relay.dispose();
    }
  }

  /** POST /v1/responses/compact: the Codex CLI's remote compaction (unary JSON), relayed through the pipeline. */
  @Post('responses/compact')
  @HttpCode(200)
  async compact(
    @Body() body: unknown,
    @CurrentAuth() auth: RequestAuth,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
    }
    const relay = new ClientRelay(reply);
    try {
      const out = await this.pipeline.compact({
        auth,
        body: body as Record<string, unknown>,
        endpoint: 'compact',
        clientStream: false,
        requestId: req.id,
        signal: relay.signal,
        codex: codexHeaders(req),
      });
      if (out.turnState) reply.header('x-codex-turn-state', out.turnState);
      reply.headers(out.headers).status(200).send(out.body);
    } finally {
      relay.dispose();
    }
  }
}
