import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export const EVENT_TYPES = ['upload.created', 'upload.completed', 'upload.failed', 'contact.completed', 'contact.failed'] as const;
export type SubscribableEventType = (typeof EVENT_TYPES)[number];
export const DEFAULT_EVENTS: SubscribableEventType[] = ['upload.completed', 'upload.failed'];

@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ name: 'user_id', ...uuidColumn })
  userId: string;

  /** The URL with its user info masked (`***`); the user info itself is in url_credentials_encrypted. */
  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** The URL's `user:password` (AES-256-GCM, see url-credentials.ts); read only by code that sends or compares. */
  @Column({ name: 'url_credentials_encrypted', type: 'text', nullable: true, select: false })
  urlCredentialsEncrypted: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  @Column({ type: 'simple-json' })
  events: SubscribableEventType[];

  @Column({ name: 'is_active', type: 'boolean' })
  isActive: boolean;

  /** AES-256-GCM ciphertext; selected only by code that signs (see WebhooksRepository.findSigningSecrets). */
  @Column({ name: 'secret_encrypted', type: 'text', select: false })
  secretEncrypted: string;

  /** The secret before the last rotation, still signed with until previous_secret_expires_at. */
  @Column({ name: 'previous_secret_encrypted', type: 'text', nullable: true, select: false })
  previousSecretEncrypted: string | null;

  @TimestampColumn({ name: 'previous_secret_expires_at', nullable: true })
  previousSecretExpiresAt: Date | null;

  @TimestampColumn({ name: 'verified_at', nullable: true })
  verifiedAt: Date | null;

  @TimestampColumn({ name: 'last_success_at', nullable: true })
  lastSuccessAt: Date | null;

  @TimestampColumn({ name: 'last_failure_at', nullable: true })
  lastFailureAt: Date | null;

  @Column({ name: 'consecutive_failures', type: 'integer', default: 0 })
  consecutiveFailures: number;

  @TimestampColumn({ name: 'disabled_at', nullable: true })
  disabledAt: Date | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt: Date;
}
