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

  @Column({ type: 'blob', transformer: { to: (v: Buffer) => v, from: (v: Buffer | Uint8Array) => (v == null ? v : Buffer.from(v)) } })
  payload: Buffer;

  @Column({ name: 'upload_id', ...uuidColumn, nullable: true })
  uploadId: string | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;
}
