import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI shapes of /admin/api/settings (validation is zod). */
export class SettingsDto {
  @ApiProperty({ description: 'Members may list and create their own api keys' })
  members_can_create_keys!: boolean;
}

export class SettingsBodyDto {
  @ApiProperty({ required: false }) members_can_create_keys?: boolean;
}
