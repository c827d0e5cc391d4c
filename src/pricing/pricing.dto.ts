import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI shapes of the account-price endpoint (validation is zod, in the controller). */
export class AccountPriceBodyDto {
  @ApiProperty({
    nullable: true,
    type: Number,
    description: "Monthly subscription price in USD (≥ 0, at most 2 decimals); null = the plan's default",
  })
  monthly_usd!: number | null;
}

export class AccountPriceDto {
  @ApiProperty() id!: string;
  @ApiProperty() label!: string;
  @ApiProperty({ nullable: true, type: String }) plan!: string | null;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, type: Number }) monthly_usd!: number | null;
  @ApiProperty({ nullable: true, enum: ['account', 'plan'], type: String })
  monthly_origin!: 'account' | 'plan' | null;
}
