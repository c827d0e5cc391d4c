import { ApiProperty } from '@nestjs/swagger';
import { KeyUsageDto, LimitsDto } from '../../limits/limits.dto.js';

/** OpenAPI shapes of GET /admin/api/me/usage (a member's own corner; validation is zod in corner.service.ts). */
class CornerUserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: 'admin' | 'member';
}

class UsageCountsDto {
  @ApiProperty() requests!: number;
  @ApiProperty() errors!: number;
  @ApiProperty() tokens!: number;
}

class DayUsageDto extends UsageCountsDto {
  @ApiProperty({ description: 'UTC day, YYYY-MM-DD' }) day!: string;
}

class ModelUsageDto extends UsageCountsDto {
  @ApiProperty() model!: string;
}

class KeyUsageRowDto extends UsageCountsDto {
  @ApiProperty({ nullable: true, type: String }) keyId!: string | null;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ nullable: true, type: String }) prefix!: string | null;
}

class BudgetDto {
  @ApiProperty({ nullable: true, type: Number, description: "The user's quota (null: none)" })
  quota!: number | null;
  @ApiProperty({ description: 'Tokens recorded in the period' }) usedTokens!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'What the quota leaves (null: no quota)' })
  leftTokens!: number | null;
}

class CornerKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() prefix!: string;
  @ApiProperty({ enum: ['api', 'admin'] }) scope!: 'api' | 'admin';
  @ApiProperty({ type: [String] }) allowedModels!: string[];
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastUsedAt!: string | null;
  @ApiProperty({ type: LimitsDto }) limits!: LimitsDto;
  @ApiProperty({ type: KeyUsageDto }) usage!: KeyUsageDto;
  @ApiProperty({ nullable: true, type: Number }) leftToday!: number | null;
  @ApiProperty({ nullable: true, type: Number }) leftThisMonth!: number | null;
}

export class CornerDto {
  @ApiProperty({ type: CornerUserDto }) user!: CornerUserDto;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty() days!: number;
  @ApiProperty({ type: LimitsDto, description: "The user's own limits, shared by their keys" })
  limits!: LimitsDto;
  @ApiProperty({ type: BudgetDto }) today!: BudgetDto;
  @ApiProperty({ type: BudgetDto }) thisMonth!: BudgetDto;
  @ApiProperty({ type: UsageCountsDto }) totals!: UsageCountsDto;
  @ApiProperty({ type: [DayUsageDto] }) byDay!: DayUsageDto[];
  @ApiProperty({ type: [ModelUsageDto] }) byModel!: ModelUsageDto[];
  @ApiProperty({ type: [KeyUsageRowDto] }) byKey!: KeyUsageRowDto[];
  @ApiProperty({ type: [CornerKeyDto], description: 'Active keys' }) keys!: CornerKeyDto[];
}
