import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { StrictInt } from '../common/validation';
import { EVENT_TYPES } from '../webhooks/webhook-endpoint.entity';
import { DELIVERY_STATUSES } from './delivery.entity';
import { ERROR_CLASSES } from './delivery-attempt.entity';

export class EndpointDeliveriesQueryDto {
  /** Page size, 1–100. */
  @ApiProperty({ required: false, default: 20, minimum: 1, maximum: 100 })
  @IsOptional()
  @StrictInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** Beyond the seed: the `X-Next-Cursor` of the previous page. */
  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiProperty({ required: false, enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: (typeof DELIVERY_STATUSES)[number];
}

export class DeliveriesQueryDto extends EndpointDeliveriesQueryDto {
  @ApiProperty({ required: false, format: 'uuid', description: 'Deliveries about one upload (endpoint and per-request ones)' })
  @IsOptional()
  @IsUUID()
  upload_id?: string;

  @ApiProperty({ required: false, format: 'uuid', description: 'Deliveries about one contact (endpoint and callback ones)' })
  @IsOptional()
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
  @ApiProperty({ example: 'evt_a1b2c3d4e5f67890abcdef12' })
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
  @ApiProperty({ example: 'evt_a1b2c3d4e5f67890abcdef12' })
  event_id: string;
  @ApiProperty({ format: 'uuid' })
  delivery_id: string;
}
