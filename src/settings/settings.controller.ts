import { Body, Controller, Get, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { AdminGuard } from '../common/admin-guards.js';
import { SettingsBodyDto, SettingsDto } from './settings.dto.js';
import { SettingsService } from './settings.service.js';

export const settingsSchema = z.object({ members_can_create_keys: z.boolean().optional() }).strict();

@ApiTags('settings')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(AdminGuard)
@Controller('admin/api/settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @ApiOperation({ summary: 'Runtime settings' })
  @ApiOkResponse({ type: SettingsDto })
  get() {
    return this.settings.all();
  }

  @Put()
  @ApiOperation({ summary: 'Change settings (members_can_create_keys)' })
  @ApiBody({ type: SettingsBodyDto })
  @ApiOkResponse({ type: SettingsDto })
  put(@CurrentAuth() auth: RequestAuth, @Body() body: unknown) {
    return this.settings.update(auth, parseOrThrow(settingsSchema, body));
  }
}
