import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI shapes of the web admin's endpoints (docs and the generated client; validation is zod). */
export class UserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: 'admin' | 'member';
  @ApiProperty() disabled!: boolean;
  @ApiProperty() hasPassword!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
