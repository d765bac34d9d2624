import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsString, Length, Matches, Max, MaxLength, Min, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { IsNotNull, Optional, OptionalNullable } from '../common/optional';
import { StrictInt } from '../common/validation';
import { UPLOAD_STATUSES } from './upload.entity';

/** Seconds of `delay` on the webhook hash (SPEC §7.1). */
export const MAX_WEBHOOK_DELAY = 604_800;

/** A non-empty string after trimming (a name of spaces is no name). */
const NotBlank = () => Matches(/\S/, { message: '$property must not be blank' });

export class UploadWebhookHashDto {
  /** HTTPS URL (SPEC §5.3 rules). User info is sent as Basic auth. */
  @ApiProperty({ example: 'https://hooks.example.com/upload-done' })
  @IsString()
  @NotBlank()
  url: string;
  /** Seconds to wait after processing ends, 1–604800; omit it to be notified at once. */
  @Optional({ type: 'integer', minimum: 1, maximum: MAX_WEBHOOK_DELAY, example: 60 })
  @IsInt()
  @Min(1)
  @Max(MAX_WEBHOOK_DELAY)
  delay?: number;
  /** Optional signing secret, 16–128 characters; without it (or with `null`) the notification is unsigned. */
  @OptionalNullable({ type: String, minLength: 16, maxLength: 128, writeOnly: true })
  @IsString()
  @Length(16, 128)
  secret?: string | null;
}

/** A phone_numbers entry: a string, or a number a spreadsheet export left unquoted. */
function IsPhoneEntry(): PropertyDecorator {
  return ValidateBy({ name: 'isPhoneEntry', validator: { validate: (v) => typeof v === 'string' || typeof v === 'number', defaultMessage: () => 'each entry of $property must be a string' } }, { each: true });
}

/** A contacts entry: an object with a string `phone`, every other field a string or a number (each becomes a column). */
function IsContact(): PropertyDecorator {
  const ok = (c: unknown) =>
    !!c && typeof c === 'object' && !Array.isArray(c) && typeof (c as Record<string, unknown>).phone === 'string' && Object.values(c).every((v) => typeof v === 'string' || typeof v === 'number');
  return ValidateBy(
    { name: 'isContact', validator: { validate: ok, defaultMessage: () => 'each entry of $property must be an object with a string phone and string or number fields' } },
    { each: true },
  );
}

/** Exactly one of the two lists: checked on phone_numbers, which is also where "neither" is reported. */
function ExactlyOneOf(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'exactlyOneOf',
    validator: { validate: (v, args) => (v === undefined) !== ((args?.object as Record<string, unknown>)[other] === undefined), defaultMessage: () => `exactly one of $property or ${other} is required` },
  });
}

/** The `application/json` form of POST /api/v1/uploads (SPEC §4.3). The entry cap (413) is checked before this. */
export class CreateUploadJsonDto {
  /** Default `api_upload_<12 hex>.csv`. */
  @Optional({ type: String, minLength: 1, maxLength: 255, example: 'leads.csv' })
  @IsString()
  @NotBlank()
  @MaxLength(255)
  filename?: string;
  /** Exactly one of phone_numbers or contacts; at most 250,000 entries. */
  @ApiProperty({ required: false, type: [String], example: ['+14152345678', '(415) 234-5679'] })
  // not Optional(): an absent list is checked too, so that "neither" is reported here
  @ValidateIf((o: CreateUploadJsonDto) => o.phone_numbers !== undefined || o.contacts === undefined)
  @IsNotNull()
  @ExactlyOneOf('contacts')
  @IsArray()
  @IsPhoneEntry()
  phone_numbers?: Array<string | number>;
  @Optional({ type: 'array', items: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }] } }, example: [{ phone: '+14152345678', name: 'Ada' }] })
  @IsArray()
  @IsContact()
  contacts?: Array<Record<string, string | number>>;
  @Optional({ type: Boolean, description: 'Skip the carrier lookup of a classifier that makes one (default false)' })
  @IsBoolean()
  skip_mobile_lookup?: boolean;
  @Optional({ type: UploadWebhookHashDto })
  @IsObject()
  @ValidateNested()
  @Type(() => UploadWebhookHashDto)
  webhook?: UploadWebhookHashDto;
}

/** The multipart text fields of POST /api/v1/uploads (SPEC §4.3), as validated. */
export class UploadMultipartFieldsDto {
  @ApiProperty({ description: 'Header of the column holding the phone numbers', example: 'phone' })
  @IsString()
  @NotBlank()
  phone_column: string;
  @Optional({ enum: ['true', 'false'] })
  @IsIn(['true', 'false'])
  skip_mobile_lookup?: string;
  @Optional({ type: String, minLength: 1, maxLength: 255 })
  @IsString()
  @NotBlank()
  @MaxLength(255)
  filename_override?: string;
  /** JSON-encoded; decoded and checked against UploadWebhookHashDto by the service (parseUploadWebhook). */
  @Optional({ type: String, description: 'JSON-encoded webhook hash', example: '{"url":"https://hooks.example.com/upload-done","delay":60}' })
  @IsString()
  webhook?: string;
}

/** The multipart form as documented: the fields plus the `file` part, which is streamed to storage, not validated. */
export class CreateUploadMultipartDto extends UploadMultipartFieldsDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'CSV with a header row, at most 100 MB' })
  file: unknown;
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
