import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export const ERROR_CLASSES = ['timeout', 'connection', 'dns', 'unsafe_address', 'http_status', 'tls'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

@Entity('delivery_attempts')
export class DeliveryAttempt {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'delivery_id', ...uuidColumn })
  deliveryId: string;

  @Column({ name: 'attempt_number', type: 'integer' })
  attemptNumber: number;

  @TimestampColumn({ name: 'started_at' })
  startedAt: Date;

  @TimestampColumn({ name: 'finished_at' })
  finishedAt: Date;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs: number;

  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus: number | null;

  @Column({ name: 'error_class', type: 'varchar', length: 32, nullable: true })
  errorClass: ErrorClass | null;

  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true })
  errorMessage: string | null;

  /** First 1 KB of the receiver's response body. */
  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody: string | null;
}
