import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export const DELIVERY_STATUSES = ['pending', 'in_flight', 'delivered', 'exhausted'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

@Entity('deliveries')
export class Delivery {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ name: 'event_id', type: 'varchar', length: 28 })
  eventId: string;

  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType: string;

  /** Null for a per-request webhook (SPEC §7.1). */
  @Column({ name: 'webhook_endpoint_id', ...uuidColumn, nullable: true })
  webhookEndpointId: string | null;

  /** User info masked (`***`); a per-request target's user info is in target_credentials_encrypted. */
  @Column({ name: 'target_url', type: 'varchar', length: 2048 })
  targetUrl: string;

  /** Per-request targets: scheme + host + port of target_url, the key of their concurrency bound. Null for endpoints. */
  @Column({ name: 'target_origin', type: 'varchar', length: 2048, nullable: true })
  targetOrigin: string | null;
  /** A per-request target URL's `user:password` (AES-GCM). Endpoint deliveries use the endpoint's. */
  @Column({ name: 'target_credentials_encrypted', type: 'text', nullable: true, select: false })
  targetCredentialsEncrypted: string | null;

  /** Per-request webhook secret (AES-GCM), when one was given. Endpoint secrets live on the endpoint. */
  @Column({ name: 'target_secret_encrypted', type: 'text', nullable: true, select: false })
  targetSecretEncrypted: string | null;

  @Column({ name: 'upload_id', ...uuidColumn, nullable: true })
  uploadId: string | null;

  @Column({ name: 'contact_id', ...uuidColumn, nullable: true })
  contactId: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ name: 'attempt_count', type: 'integer', default: 0 })
  attemptCount: number;

  /** attempt_count when the current retry schedule started: 0, or the count at the last manual retry (SPEC §5.8). */
  @Column({ name: 'schedule_started_after', type: 'integer', default: 0 })
  scheduleStartedAfter: number;

  @TimestampColumn({ name: 'next_retry_at', nullable: true })
  nextRetryAt: Date | null;

  @TimestampColumn({ name: 'locked_until', nullable: true })
  lockedUntil: Date | null;

  @Column({ name: 'locked_by', type: 'varchar', length: 64, nullable: true })
  lockedBy: string | null;

  @TimestampColumn({ name: 'last_attempt_at', nullable: true })
  lastAttemptAt: Date | null;

  @Column({ name: 'last_response_status', type: 'integer', nullable: true })
  lastResponseStatus: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @TimestampColumn({ name: 'delivered_at', nullable: true })
  deliveredAt: Date | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt: Date;
}
