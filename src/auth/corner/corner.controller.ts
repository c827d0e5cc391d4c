import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { parseOrThrow } from '../../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../../common/auth-context.js';
import { UserGuard } from '../../common/admin-guards.js';
import { CornerDto } from '../dto/corner.dto.js';
import { cornerQuery, CornerService } from './corner.service.js';

@ApiTags('web admin')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(UserGuard)
@Controller('admin/api/me/usage')
export class CornerController {
  constructor(private readonly corner: CornerService) {}

  @Get()
  @ApiQuery({ name: 'userId', required: false, description: 'Admins: whose corner (default: your own)' })
  @ApiQuery({ name: 'days', required: false, type: Number, description: '1–93 UTC days, default 30' })
  @ApiOperation({
    summary: "Your usage by key, model and day, your limits and what is left, your keys (admins: anyone's)",
    description: 'A member naming another user gets 403 `not_your_usage`.',
  })
  @ApiOkResponse({ type: CornerDto })
  usage(@CurrentAuth() auth: RequestAuth, @Query() query: unknown) {
    return this.corner.usageOf(auth, parseOrThrow(cornerQuery, query ?? {}, 'query'));
  }
}
