import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export const CONTACT_STATUSES = ['queued', 'processing', 'completed', 'failed', 'discarded'] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];
export const TERMINAL_CONTACT_STATUSES: ContactStatus[] = ['completed', 'failed', 'discarded'];

/** A property value the caller may send (SPEC §11.3). */
export type ContactPropertyValue = string | number | boolean | null;

const json = {
  to: (v: Record<string, ContactPropertyValue> | null | undefined) => (v == null ? v : JSON.stringify(v)),
  from: (v: string | null) => (v == null ? {} : JSON.parse(v)),
};

@Entity('contacts')
export class Contact {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ name: 'user_id', ...uuidColumn })
  userId: string;

  /** Idempotency keys are scoped per (organization, API key). */
  @Column({ name: 'api_key_id', ...uuidColumn })
  apiKeyId: string;

  /** E.164 */
  @Column({ type: 'varchar', length: 16 })
  phone: string;

  @Column({ type: 'text', transformer: json })
  properties: Record<string, ContactPropertyValue>;

  @Column({ type: 'varchar', length: 16 })
  status: ContactStatus;

  @Column({ name: 'optimaldial_status', type: 'varchar', length: 32, nullable: true })
  optimaldialStatus: string | null;

  @Column({ name: 'line_type', type: 'varchar', length: 32, nullable: true })
  lineType: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 1000, nullable: true })
  errorMessage: string | null;

  @Column({ name: 'credits_charged', type: 'integer', default: 1 })
  creditsCharged: number;

  /** Stored with its user info masked (`***:***@`, SPEC §5.3); the user info itself is the encrypted column below. */
  @Column({ name: 'callback_url', type: 'varchar', length: 2048, nullable: true })
  callbackUrl: string | null;

  /** The callback URL's `user:password` (AES-GCM), sent as Basic auth. */
  @Column({ name: 'callback_credentials_encrypted', type: 'text', nullable: true, select: false })
  callbackCredentialsEncrypted: string | null;

  @Column({ name: 'callback_secret_encrypted', type: 'text', nullable: true, select: false })
  callbackSecretEncrypted: string | null;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey: string | null;

  /** HMAC of the request body (without the idempotency key), to tell a repeat from a different body. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64, select: false })
  requestHash: string;

  @TimestampColumn({ name: 'locked_until', nullable: true })
  lockedUntil: Date | null;

  @Column({ name: 'locked_by', type: 'varchar', length: 64, nullable: true })
  lockedBy: string | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt: Date;

  @TimestampColumn({ name: 'completed_at', nullable: true })
  completedAt: Date | null;
}
