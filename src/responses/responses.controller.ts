import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors.js';
import { startSse } from '../common/sse.js';
import { ApiKeyGuard } from '../keys/guards/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../keys/auth-context.js';
import { classifyFailure } from '../chat/chat-translator.js';
import { ResponsesService } from './responses.service.js';
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
  constructor(private readonly responses: ResponsesService) {}

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
    const abort = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.on('close', onClose);
    try {
      const opened = await this.responses.open({
        auth,
        body: b,
        endpoint: 'responses',
        clientStream,
        requestId: req.id,
        signal: abort.signal,
      });
      if (!clientStream) {
        const asm = new ResponseAssembler();
        try {
          for await (const ev of opened.events) asm.push(ev.type, ev.data);
        } catch (err) {
          throw new ApiError(502, (err as Error).message, 'server_error', null, 'stream_disconnected');
        }
        const result = asm.result();
        if (!result)
          throw new ApiError(
            502,
            'The upstream ended without a response.',
            'server_error',
            null,
            'stream_disconnected',
          );
        if (asm.terminal === 'response.failed') {
          const e = result.error ?? {};
          const { status, type } = classifyFailure(e.code);
          throw new ApiError(
            status,
            e.message ?? 'The upstream failed to produce a response.',
            type,
            null,
            e.code ?? null,
          );
        }
        reply.headers(opened.headers).status(200).send(result);
        return;
      }
      startSse(reply, req.id, opened.headers);
      try {
        for await (const ev of opened.events) {
          if (abort.signal.aborted) break;
          reply.raw.write(ev.raw);
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          const error = {
            type: 'error',
            code: (err as { errorClass?: string }).errorClass ?? 'stream_disconnected',
            message: (err as Error).message,
            param: null,
          };
          reply.raw.write(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
        }
      } finally {
        if (!reply.raw.writableEnded) reply.raw.end();
      }
    } finally {
      reply.raw.off('close', onClose);
    }
  }
}
