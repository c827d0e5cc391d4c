import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { parseOrThrow } from '../../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../../common/auth-context.js';
import { AdminGuard } from '../../common/admin-guards.js';
import { setSessionCookie } from '../cookies.js';
import { assertSameOrigin } from '../csrf.js';
import { flowCookie } from '../oidc/oidc.controller.js';
import { SignedInDto } from '../dto/users.response.js';
import {
  AcceptInviteBodyDto,
  acceptInviteSchema,
  InviteInfoDto,
  InviteSsoStartDto,
  InviteStatusDto,
  InviteTokenBodyDto,
  inviteTokenSchema,
  IssuedInviteDto,
  IssueInviteBodyDto,
  issueInviteSchema,
  RevokedInviteDto,
} from '../dto/invites.dto.js';
import { InvitesService } from './invites.service.js';

@ApiTags('users')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(AdminGuard)
@Controller('admin/api/users/:id/invite')
export class UserInvitesController {
  constructor(private readonly invites: InvitesService) {}

  @Post()
  @ApiOperation({
    summary: 'Issue a one-time invite link for the user (revokes an open one); the link is shown only here',
    description:
      'Expires after INVITE_TTL_SECONDS. Inviting to an admin account needs a session and `currentPassword`.',
  })
  @ApiBody({ type: IssueInviteBodyDto, required: false })
  @ApiCreatedResponse({ type: IssuedInviteDto })
  issue(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    const { currentPassword } = parseOrThrow(issueInviteSchema, body ?? {});
    return this.invites.issue(auth, id, currentPassword);
  }

  @Get()
  @ApiOperation({ summary: "The user's latest invite: open, used, expired or revoked (never the link)" })
  @ApiOkResponse({ type: InviteStatusDto })
  status(@Param('id') id: string) {
    return this.invites.status(id);
  }

  @Delete()
  @ApiOperation({ summary: "Revoke the user's open invite link" })
  @ApiOkResponse({ type: RevokedInviteDto })
  revoke(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.invites.revoke(auth, id);
  }
}

/** The invited person's side: no credentials but the token (in the body, never in a URL the server logs). */
@ApiTags('auth')
@Controller('admin/api/invites')
export class InvitesController {
  constructor(
    private readonly invites: InvitesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('inspect')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'What an invite link is for (410 invite_used / invite_expired / invite_revoked, 404 invite_invalid)',
  })
  @ApiBody({ type: InviteTokenBodyDto })
  @ApiOkResponse({ type: InviteInfoDto })
  inspect(@Body() body: unknown) {
    return this.invites.inspect(parseOrThrow(inviteTokenSchema, body).token);
  }

  @Post('accept')
  @HttpCode(200)
  @ApiOperation({ summary: 'Use an invite: set a password and sign in (sets the session cookie)' })
  @ApiBody({ type: AcceptInviteBodyDto })
  @ApiOkResponse({ type: SignedInDto })
  async accept(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    // Login CSRF: these calls sign a browser in, so a cross-site page must not make them.
    assertSameOrigin(req.headers, this.config.PUBLIC_URL);
    const { token, password } = parseOrThrow(acceptInviteSchema, body);
    const { sid, user } = await this.invites.accept(token, password, req.ip);
    setSessionCookie(reply, sid, this.config);
    return { user };
  }

  @Post('sso')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Use an invite with single sign-on: starts a sign-in bound to the invite (the IdP email must match)',
  })
  @ApiBody({ type: InviteTokenBodyDto })
  @ApiOkResponse({ type: InviteSsoStartDto })
  async sso(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    assertSameOrigin(req.headers, this.config.PUBLIC_URL);
    const { url, flowId } = await this.invites.startSso(parseOrThrow(inviteTokenSchema, body).token);
    reply
      .header(
        'set-cookie',
        flowCookie(flowId, this.config.OIDC_FLOW_TTL_SECONDS, this.config.PUBLIC_URL.startsWith('https:')),
      )
      .header('cache-control', 'no-store');
    return { url };
  }
}
