import { ApiProperty } from '@nestjs/swagger';
import { SCOPES } from '../common/scopes';

export class MeOrganizationDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  name: string;
  credits_balance: number;
  @ApiProperty({ enum: ['active', 'inactive'] })
  subscription_status: string;
  daily_row_limit: number | null;
  features: string[];
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class MeApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  /** First 12 characters of the key, safe to display. */
  @ApiProperty({ example: 'od_live_AbCd' })
  prefix: string;
  name: string;
  @ApiProperty({ enum: SCOPES, isArray: true })
  scopes: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expires_at: string | null;
}

export class MeResponseDto {
  organization: MeOrganizationDto;
  api_key: MeApiKeyDto;
  @ApiProperty({ format: 'uuid' })
  user_id: string;
}
