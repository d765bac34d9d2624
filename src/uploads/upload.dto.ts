import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';
import { Optional, OptionalNullable } from '../common/optional';
import { StrictInt } from '../common/validation';
import { UPLOAD_STATUSES } from './upload.entity';

export class UploadWebhookHashDto {
  /** HTTPS URL (SPEC §5.3 rules). User info is sent as Basic auth. */
  @ApiProperty({ example: 'https://hooks.example.com/upload-done' })
  url: string;
  /** Seconds to wait after processing ends, 1–604800; omit it to be notified at once. */
  @Optional({ type: 'integer', minimum: 1, maximum: 604800, example: 60 })
  delay?: number;
  /** Optional signing secret, 16–128 characters; without it (or with `null`) the notification is unsigned. */
  @OptionalNullable({ type: String, minLength: 16, maxLength: 128, writeOnly: true })
  secret?: string | null;
}

export class CreateUploadJsonDto {
  /** Default `api_upload_<12 hex>.csv`. */
  @Optional({ type: String, minLength: 1, maxLength: 255, example: 'leads.csv' })
  filename?: string;
  /** Exactly one of phone_numbers or contacts; at most 250,000 entries. */
  @Optional({ type: [String], example: ['+14152345678', '(415) 234-5679'] })
  phone_numbers?: string[];
  @Optional({ type: 'array', items: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }] } }, example: [{ phone: '+14152345678', name: 'Ada' }] })
  contacts?: Array<Record<string, string | number>>;
  @Optional({ type: Boolean, description: 'Skip the carrier lookup of a classifier that makes one (default false)' })
  skip_mobile_lookup?: boolean;
  @Optional({ type: UploadWebhookHashDto })
  webhook?: UploadWebhookHashDto;
}

export class CreateUploadMultipartDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'CSV with a header row, at most 100 MB' })
  file: unknown;
  @ApiProperty({ description: 'Header of the column holding the phone numbers', example: 'phone' })
  phone_column: string;
  @Optional({ enum: ['true', 'false'] })
  skip_mobile_lookup?: string;
  @Optional({ type: String, minLength: 1, maxLength: 255 })
  filename_override?: string;
  @Optional({ type: String, description: 'JSON-encoded webhook hash', example: '{"url":"https://hooks.example.com/upload-done","delay":60}' })
  webhook?: string;
}

export class ListUploadsQueryDto {
  @Optional({ type: 'integer', default: 50, minimum: 1, maximum: 100 })
  @StrictInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @Optional({ type: String, minLength: 1 })
  @IsString()
  @IsNotEmpty({ message: '$property must not be empty (omit it for the first page)' })
  cursor?: string;

  @Optional({ enum: UPLOAD_STATUSES })
  @IsIn(UPLOAD_STATUSES)
  status?: (typeof UPLOAD_STATUSES)[number];
}

export class UploadWebhookViewDto {
  url: string;
  delay: number;
}

export class UploadDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  user_id: string;
  @ApiProperty({ format: 'uuid' })
  organization_id: string;
  original_filename: string;
  storage_path: string;
  file_size_bytes: number;
  @ApiProperty({ enum: UPLOAD_STATUSES })
  status: string;
  valid_row_count: number;
  invalid_row_count: number;
  duplicate_row_count: number;
  total_rows: number;
  credits_required: number;
  credits_charged: number;
  credits_refunded: number;
  @ApiProperty({ enum: ['api', 'web'] })
  source: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  api_key_id: string | null;
  skip_mobile_lookup: boolean;
  @ApiProperty({ type: String, nullable: true })
  processed_storage_path: string | null;
  @ApiProperty({ type: String, nullable: true })
  processed_filtered_storage_path: string | null;
  @ApiProperty({ type: String, nullable: true })
  error_message: string | null;
  exceeded_daily_limit: boolean;
  @ApiProperty({ type: UploadWebhookViewDto, nullable: true })
  webhook: UploadWebhookViewDto | null;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  processing_started_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  completed_at: string | null;
}

export class UploadPageDto {
  @ApiProperty({ type: [UploadDto] })
  data: UploadDto[];
  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class CancelResponseDto {
  @ApiProperty({ example: 'cancelled' })
  status: 'cancelled';
  credits_refunded: number;
}

export class DownloadUrlDto {
  @ApiProperty({ example: 'http://localhost:3000/files/0b6f…/processed?expires=1777040096&signature=…' })
  download_url: string;
  /** Unix seconds. */
  @ApiProperty({ example: 1777040096 })
  expires_at: number;
}
