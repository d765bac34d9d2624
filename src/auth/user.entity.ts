import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export type UserRole = 'owner' | 'member';

@Entity('users')
@Index(['organizationId', 'email'], { unique: true })
export class User {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ name: 'organization_id', ...uuidColumn })
  organizationId: string;

  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ type: 'varchar', length: 16 })
  role: UserRole;

  @TimestampColumn({ name: 'removed_at', nullable: true })
  removedAt: Date | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;
}
