import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export const UPLOAD_STATUSES = [
  'pending_mapping',
  'validating',
  'validation_failed',
  'awaiting_confirmation',
  'ready_for_processing',
  'processing',
  'completed',
  'failed',
  'cancelled',
] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];
/** Cancellable: everything before processing starts (SPEC §4.2). */
export const CANCELLABLE: UploadStatus[] = ['pending_mapping', 'validating', 'validation_failed', 'awaiting_confirmation', 'ready_for_processing'];

export interface UploadWebhookHash {
  url: string;
  delay: number;
}

@Entity('uploads')
export class Upload {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ name: 'user_id', ...uuidColumn })
  userId: string;

  @Column({ name: 'api_key_id', ...uuidColumn, nullable: true })
  apiKeyId: string | null;

  @Column({ name: 'original_filename', type: 'varchar', length: 255 })
  originalFilename: string;

  @Column({ name: 'storage_path', type: 'varchar', length: 255 })
  storagePath: string;

  @Column({ name: 'phone_column', type: 'varchar', length: 255, nullable: true })
  phoneColumn: string | null;

  @Column({ name: 'file_size_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  fileSizeBytes: number;

  @Column({ type: 'varchar', length: 32 })
  status: UploadStatus;

  @Column({ name: 'total_rows', type: 'integer', default: 0 })
  totalRows: number;

  @Column({ name: 'valid_row_count', type: 'integer', default: 0 })
  validRowCount: number;

  @Column({ name: 'invalid_row_count', type: 'integer', default: 0 })
  invalidRowCount: number;

  @Column({ name: 'duplicate_row_count', type: 'integer', default: 0 })
  duplicateRowCount: number;

  @Column({ name: 'credits_required', type: 'integer', default: 0 })
  creditsRequired: number;

  @Column({ name: 'credits_charged', type: 'integer', default: 0 })
  creditsCharged: number;

  @Column({ name: 'credits_refunded', type: 'integer', default: 0 })
  creditsRefunded: number;

  @Column({ type: 'varchar', length: 8 })
  source: 'api' | 'web';

  @Column({ name: 'skip_mobile_lookup', type: 'boolean', default: false })
  skipMobileLookup: boolean;

  @Column({ name: 'processed_storage_path', type: 'varchar', length: 255, nullable: true })
  processedStoragePath: string | null;

  @Column({ name: 'processed_filtered_storage_path', type: 'varchar', length: 255, nullable: true })
  processedFilteredStoragePath: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 1000, nullable: true })
  errorMessage: string | null;

  @Column({ name: 'exceeded_daily_limit', type: 'boolean', default: false })
  exceededDailyLimit: boolean;

  /** The per-request webhook hash without its secret (SPEC §7.1). */
  @Column({ type: 'simple-json', nullable: true })
  webhook: UploadWebhookHash | null;

  @Column({ name: 'webhook_secret_encrypted', type: 'text', nullable: true, select: false })
  webhookSecretEncrypted: string | null;

  /** The per-request webhook URL's `user:password` (AES-GCM); `webhook.url` holds it masked. */
  @Column({ name: 'webhook_credentials_encrypted', type: 'text', nullable: true, select: false })
  webhookCredentialsEncrypted: string | null;

  @TimestampColumn({ name: 'locked_until', nullable: true })
  lockedUntil: Date | null;

  @Column({ name: 'locked_by', type: 'varchar', length: 64, nullable: true })
  lockedBy: string | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt: Date;

  @TimestampColumn({ name: 'processing_started_at', nullable: true })
  processingStartedAt: Date | null;

  @TimestampColumn({ name: 'completed_at', nullable: true })
  completedAt: Date | null;
}
