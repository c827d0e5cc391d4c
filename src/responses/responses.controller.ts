import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors.js';
import { ApiKeyGuard } from '../keys/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../auth/auth-context.js';
import { classifyFailure } from '../upstream/classify.js';
import { GatewayPipeline } from '../gateway/pipeline.service.js';
import { ClientRelay } from '../gateway/relay.js';
import { ResponseAssembler } from './response-assembler.js';

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
      });
      if (!clientStream) {
        const asm = new ResponseAssembler();
        try {
          for await (const ev of opened.events) asm.push(ev.type, ev.data);
        } catch (err) {
          throw ApiError.badGateway((err as Error).message, 'stream_disconnected');
        }
        const result = asm.result();
        if (!result)
          throw ApiError.badGateway('The upstream ended without a response.', 'stream_disconnected');
        if (asm.terminal === 'response.failed') {
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
      relay.startSse(req.id, opened.headers);
      try {
        for await (const ev of opened.events) {
          if (relay.aborted) break;
          relay.write(ev.raw);
        }
      } catch (err) {
        if (!relay.aborted)
          relay.writeEvent('error', {
            type: 'error',
            code: (err as { errorClass?: string }).errorClass ?? 'stream_disconnected',
            message: (err as Error).message,
            param: null,
          });
      }
    } finally {
      relay.dispose();
    }
  }
}
