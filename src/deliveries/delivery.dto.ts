import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsISO8601, IsString, IsUUID, Max, Min } from 'class-validator';
import { Optional } from '../common/optional';
import { StrictInt } from '../common/validation';
import { EVENT_TYPES } from '../webhooks/webhook-endpoint.entity';
import { DELIVERY_STATUSES } from './delivery.entity';
import { ERROR_CLASSES } from './delivery-attempt.entity';

/** SPEC §1: event ids are not UUIDs but `evt_` + 24 lowercase hex characters. */
export const EVENT_ID_SCHEMA = { type: String, pattern: '^evt_[0-9a-f]{24}$', example: 'evt_a1b2c3d4e5f67890abcdef12', description: '`evt_` + 24 lowercase hex characters' };

export class EndpointDeliveriesQueryDto {
  /** Page size, 1–100. */
  @Optional({ type: 'integer', default: 20, minimum: 1, maximum: 100 })
  @StrictInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** Beyond the seed: the `X-Next-Cursor` of the previous page. */
  @Optional({ type: String, minLength: 1 })
  @IsString()
  @IsNotEmpty({ message: '$property must not be empty (omit it for the first page)' })
  cursor?: string;

  @Optional({ enum: DELIVERY_STATUSES })
  @IsIn(DELIVERY_STATUSES)
  status?: (typeof DELIVERY_STATUSES)[number];
}

export class DeliveriesQueryDto extends EndpointDeliveriesQueryDto {
  @Optional({ type: String, format: 'uuid', description: 'Deliveries about one upload (endpoint and per-request ones)' })
  @IsUUID()
  upload_id?: string;

  @Optional({ type: String, format: 'uuid', description: 'Deliveries about one contact (endpoint and callback ones)' })
  @IsUUID()
  contact_id?: string;
}

export class RecoverDto {
  /** Re-queue exhausted deliveries created since this time (at most 10,000 per call). */
  @ApiProperty({ example: '2026-04-24T00:00:00.000Z' })
  @IsISO8601({ strict: true })
  since: string;
}

export class TestEventDto {
  @ApiProperty({ enum: EVENT_TYPES, example: 'upload.completed' })
  @IsIn(EVENT_TYPES)
  event_type: string;
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Null for a per-request webhook' })
  webhook_endpoint_id: string | null;
  @ApiProperty(EVENT_ID_SCHEMA)
  event_id: string;
  @ApiProperty({ example: 'upload.completed' })
  event_type: string;
  @ApiProperty({ enum: DELIVERY_STATUSES })
  status: string;
  attempt_count: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  next_retry_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_attempt_at: string | null;
  @ApiProperty({ type: Number, nullable: true })
  last_response_status: number | null;
  @ApiProperty({ type: String, nullable: true })
  last_error: string | null;
  @ApiProperty({ example: 'https://hooks.example.com/optimaldial' })
  target_url: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  upload_id: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  contact_id: string | null;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  delivered_at: string | null;
}

export class DeliveryAttemptDto {
  attempt_number: number;
  @ApiProperty({ format: 'date-time' })
  started_at: string;
  @ApiProperty({ format: 'date-time' })
  finished_at: string;
  duration_ms: number;
  @ApiProperty({ type: Number, nullable: true })
  response_status: number | null;
  @ApiProperty({ enum: ERROR_CLASSES, nullable: true })
  error_class: string | null;
  @ApiProperty({ type: String, nullable: true })
  error_message: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'First 1 KB of the response body' })
  response_body: string | null;
}

export class DeliveryDetailDto extends WebhookDeliveryDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The exact event envelope sent' })
  payload: Record<string, unknown>;
  @ApiProperty({ type: [DeliveryAttemptDto] })
  attempts: DeliveryAttemptDto[];
}

export class DeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto] })
  data: WebhookDeliveryDto[];
  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class RequeuedResponseDto {
  @ApiProperty({ example: 'pending' })
  status: string;
  @ApiProperty({ format: 'uuid' })
  delivery_id: string;
}

export class RecoverResponseDto {
  requeued: number;
}

export class TestEventResponseDto {
  @ApiProperty(EVENT_ID_SCHEMA)
  event_id: string;
  @ApiProperty({ format: 'uuid' })
  delivery_id: string;
}

export class EndpointStatsQueryDto {
  /** How many hours back, 1–720 (30 days). */
  @Optional({ type: 'integer', default: 24, minimum: 1, maximum: 720 })
  @StrictInt()
  @IsInt()
  @Min(1)
  @Max(720)
  hours?: number;
}

export class EndpointStatsBucketDto {
  /** Start of the UTC hour. */
  @ApiProperty({ format: 'date-time', example: '2026-04-24T12:00:00.000Z' })
  start: string;
  /** Attempts that succeeded (2xx) in this hour. */
  delivered: number;
  /** Attempts that failed in this hour. */
  failed: number;
}

export class EndpointStatsDto {
  hours: number;
  /** One bucket per hour, oldest first; the last one is the current (partial) hour. */
  @ApiProperty({ type: [EndpointStatsBucketDto] })
  buckets: EndpointStatsBucketDto[];
  /** Attempts recorded in the window. */
  attempts: number;
  @ApiProperty({ type: Number, nullable: true, minimum: 0, maximum: 1, description: 'Successful attempts / attempts; null without attempts' })
  success_rate: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Median attempt duration in ms; null without attempts' })
  p50_ms: number | null;
  @ApiProperty({ type: Number, nullable: true, description: '95th percentile attempt duration in ms; null without attempts' })
  p95_ms: number | null;
  /** Deliveries waiting for (or in) an attempt now; 0 while the endpoint is inactive, except attempts on the wire. */
  pending: number;
  /** Pending deliveries held because the endpoint is inactive (SPEC §6.5). */
  held: number;
}
