import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';
import { Scope } from '../common/scopes';

@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ name: 'user_id', ...uuidColumn })
  userId: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 12 })
  prefix: string;

  /** SHA-256 hex of the full key; the key itself is never stored. */
  @Column({ name: 'key_hash', type: 'varchar', length: 64, select: false })
  keyHash: string;

  @Column({ type: 'simple-json' })
  scopes: Scope[];

  @TimestampColumn({ name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @TimestampColumn({ name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @TimestampColumn({ name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;
}
