import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { sessionCookie } from '../auth/cookies.js';
import { isSameOrigin } from '../auth/csrf.js';
import { SessionsService } from '../auth/sessions.service.js';
import { UserDto } from './dto.js';
import { SetupService } from './setup.service.js';

const setupSchema = z
  .object({
    token: z.string().min(1).max(200),
    email: z.string().email().max(320),
    password: z.string().min(8, 'must be at least 8 characters').max(1024),
    name: z.string().max(200).default(''),
  })
  .strict();

export class SetupStateDto {
  @ApiProperty({ description: 'true while no admin exists (the setup link is then logged at start)' })
  needed!: boolean;
}
export class SetupRequestDto {
  @ApiProperty({ description: 'The token of the setup link the gateway logged' }) token!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ minLength: 8 }) password!: string;
  @ApiPropertyOptional() name?: string;
}
export class SetupResultDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

@ApiTags('setup')
@Controller('admin/api/setup')
export class SetupController {
  constructor(
    private readonly setup: SetupService,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Whether the first admin still has to be created' })
  @ApiOkResponse({ type: SetupStateDto })
  async state(): Promise<SetupStateDto> {
    return { needed: await this.setup.needed() };
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create the first admin with the logged one-time setup token; signs them in (session cookie)',
  })
  @ApiBody({ type: SetupRequestDto })
  @ApiOkResponse({ type: SetupResultDto })
  async create(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ): Promise<SetupResultDto> {
    if (
      req.headers.origin &&
      !isSameOrigin(
        { origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host },
        this.config.PUBLIC_URL,
        req.protocol === 'https' ? 'https' : 'http',
      )
    ) {
      throw ApiError.forbidden(
        'Cross-origin request refused (Origin does not match).',
        'csrf_origin_mismatch',
      );
    }
    const input = parseOrThrow(setupSchema, body);
    const user = await this.setup.createFirstAdmin(input);
    const sid = await this.sessions.create(user.id);
    reply.header(
      'set-cookie',
      sessionCookie(sid, {
        secure: this.config.PUBLIC_URL.startsWith('https:'),
        maxAgeSeconds: this.config.SESSION_ABSOLUTE_SECONDS,
      }),
    );
    reply.header('cache-control', 'no-store');
    return { user: user as UserDto };
  }
}
