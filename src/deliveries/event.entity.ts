import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

/** Outbox row: the envelope serialized once; every attempt sends exactly these bytes. */
@Entity('events')
export class Event {
  @PrimaryColumn({ type: 'varchar', length: 28 })
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ name: 'api_version', type: 'varchar', length: 16 })
  apiVersion: string;

  // Stored as text (the envelope is JSON, so UTF-8 round-trips byte for byte) so one column type serves both engines.
  @Column({ type: 'text', transformer: { to: (v: Buffer | null) => (v == null ? v : v.toString('utf8')), from: (v: string | null) => (v == null ? v : Buffer.from(v, 'utf8')) } })
  payload: Buffer;

  @Column({ name: 'upload_id', ...uuidColumn, nullable: true })
  uploadId: string | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;
}
