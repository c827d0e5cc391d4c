import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../../common/admin-guards.js';
import { CurrentAuth, type RequestAuth } from '../../common/auth-context.js';
import { parseOrThrow } from '../../common/validation.js';
import { ApiError } from '../../common/errors.js';
import { actorOf } from '../actor.js';
import {
  DeviceStartDto,
  ImportAuthJsonDto,
  LoginResultDto,
  LoginStartDto,
  LoginStatusDto,
  OAuthCompleteDto,
  OAuthStartDto,
  oauthCompleteSchema,
  loginStartSchema,
} from '../dto/accounts.dto.js';
import { AccountLoginService } from './account-login.service.js';

/** Admin login flows for subscription accounts: browser PKCE (pasted callback), device code, auth.json import. */
@ApiTags('accounts')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('admin/api/accounts')
export class AccountLoginController {
  constructor(private readonly logins: AccountLoginService) {}

  @Post('oauth/start')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Start a browser (PKCE) login: open authorizeUrl, then paste the final callback address',
  })
  @ApiOkResponse({ type: OAuthStartDto })
  @ApiBody({ type: LoginStartDto, required: false })
  start(@Body() body: unknown, @CurrentAuth() auth?: RequestAuth) {
    const egress = parseOrThrow(loginStartSchema, body ?? {});
    return this.logins.startPkce(actorOf(auth), { owner: auth?.userId ?? null, egress });
  }

  @Post('oauth/complete')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Finish a browser login with the pasted http://127.0.0.1:1455/auth/callback?… address',
  })
  @ApiBody({ type: OAuthCompleteDto })
  @ApiOkResponse({ type: LoginResultDto })
  complete(@Body() body: OAuthCompleteDto, @CurrentAuth() auth?: RequestAuth) {
    const { loginId, callbackUrl } = parseOrThrow(oauthCompleteSchema, body);
    return this.logins.completePkce(loginId, callbackUrl, 'pkce', auth?.userId ?? null);
  }

  @Post('device/start')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Start a device-code login; the gateway polls in the background',
  })
  @ApiOkResponse({ type: DeviceStartDto })
  @ApiBody({ type: LoginStartDto, required: false })
  device(@Body() body: unknown, @CurrentAuth() auth?: RequestAuth) {
    const egress = parseOrThrow(loginStartSchema, body ?? {});
    return this.logins.startDevice(actorOf(auth), { owner: auth?.userId ?? null, egress });
  }

  @Get('logins/:loginId')
  @ApiOperation({
    summary:
      'State of a login you started: pending, completed, expired or failed (404 for other admins’ logins)',
  })
  @ApiOkResponse({ type: LoginStatusDto })
  status(@Param('loginId') loginId: string, @CurrentAuth() auth?: RequestAuth) {
    return this.logins.status(loginId, auth?.userId ?? null);
  }

  @Delete('logins/:loginId')
  @ApiOperation({ summary: 'Cancel a pending login you started (404 for other admins’ logins)' })
  @ApiOkResponse({ type: LoginStatusDto })
  cancel(@Param('loginId') loginId: string, @CurrentAuth() auth?: RequestAuth) {
    return this.logins.cancel(loginId, auth?.userId ?? null);
  }

  @Post('import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import a Codex CLI auth.json (the body is the auth.json, or {authJson, label})',
  })
  @ApiBody({ type: ImportAuthJsonDto })
  @ApiOkResponse({ type: LoginResultDto })
  import(@Body() body: unknown, @CurrentAuth() auth?: RequestAuth) {
    if (!body || typeof body !== 'object')
      throw ApiError.badRequest('The request body must be a JSON object.', null, 'invalid_request');
    const b = body as Record<string, unknown>;
    const label = typeof b.label === 'string' ? b.label.slice(0, 200) : undefined;
    if (b.proxyUrl !== undefined && b.proxyUrl !== null && typeof b.proxyUrl !== 'string')
      throw ApiError.badRequest('proxyUrl must be a string or null.', 'proxyUrl', 'invalid_proxy_url');
    const proxyUrl = 'tokens' in b ? undefined : (b.proxyUrl as string | null | undefined);
    return this.logins.importAuthJson('tokens' in b ? b : b.authJson, actorOf(auth), label, proxyUrl);
  }
}
