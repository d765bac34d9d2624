import { ApiProperty } from '@nestjs/swagger';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsBoolean, IsIn, IsString, MaxLength } from 'class-validator';
import { Optional, OptionalNullable } from '../common/optional';
import { EVENT_TYPES } from './webhook-endpoint.entity';

export class CreateWebhookDto {
  // The 2048-character limit is a URL-safety rule (SPEC §5.3 → 400 unsafe_url / invalid_url), checked with the
  // rest of the URL rules by UrlChecker (net/), not a validation_failed here.
  /** HTTPS URL that resolves only to public addresses. User info is sent as Basic auth; query strings are kept. */
  @ApiProperty({ example: 'https://hooks.example.com/optimaldial', maxLength: 2048 })
  @IsString()
  url: string;

  /** Free-form, at most 500 characters. */
  @OptionalNullable({ type: String, example: 'production receiver', maxLength: 500 })
  @IsString()
  @MaxLength(500)
  description?: string | null;

  /** Event types to receive. Default: ["upload.completed", "upload.failed"]. */
  @Optional({ enum: EVENT_TYPES, isArray: true, example: ['upload.created', 'upload.completed', 'upload.failed'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(EVENT_TYPES, { each: true, message: `each value in events must be one of ${EVENT_TYPES.join(', ')}` })
  events?: string[];
}

export class UpdateWebhookDto {
  /** A changed URL is ping-verified with the existing secret before anything is saved. */
  @Optional({ type: String, example: 'https://hooks.example.com/optimaldial-v2', maxLength: 2048 })
  @IsString()
  url?: string;

  /** `null` clears the description. */
  @OptionalNullable({ type: String, maxLength: 500, example: 'staging receiver' })
  @IsString()
  @MaxLength(500)
  description?: string | null;

  /** Replaces the current list (no merge). */
  @Optional({ enum: EVENT_TYPES, isArray: true, example: ['upload.completed'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(EVENT_TYPES, { each: true, message: `each value in events must be one of ${EVENT_TYPES.join(', ')}` })
  events?: string[];

  /** true re-enables (resets consecutive_failures, clears disabled_at, releases held deliveries); false disables. */
  @Optional({ type: Boolean, example: true })
  @IsBoolean()
  is_active?: boolean;
}

export class WebhookEndpointResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  user_id: string;
  @ApiProperty({ format: 'uuid' })
  organization_id: string;
  @ApiProperty({ example: 'https://hooks.example.com/optimaldial' })
  url: string;
  @ApiProperty({ type: String, nullable: true })
  description: string | null;
  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  events: string[];
  is_active: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  verified_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_success_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_failure_at: string | null;
  consecutive_failures: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  disabled_at: string | null;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class CreateWebhookResponseDto {
  webhook: WebhookEndpointResponseDto;
  /** 64 lowercase hex characters. Returned only here: store it next to the API key. */
  @ApiProperty({ example: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' })
  secret: string;
}

export class DeletedResponseDto {
  @ApiProperty({ example: 'deleted' })
  status: 'deleted';
}

export class RotateSecretResponseDto {
  @ApiProperty({ example: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' })
  secret: string;
  /** Until then every delivery carries signatures under both the new and the previous secret. */
  @ApiProperty({ format: 'date-time' })
  previous_secret_expires_at: string;
}
