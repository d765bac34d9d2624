import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn, uuidColumn } from '../database/columns';

export type SubscriptionStatus = 'active' | 'inactive';

@Entity('organizations')
export class Organization {
  @PrimaryColumn(uuidColumn)
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ name: 'credits_balance', type: 'integer', default: 0 })
  creditsBalance: number;

  @Column({ name: 'subscription_status', type: 'varchar', length: 16 })
  subscriptionStatus: SubscriptionStatus;

  @Column({ name: 'daily_row_limit', type: 'integer', nullable: true })
  dailyRowLimit: number | null;

  @Column({ type: 'simple-json' })
  features: string[];

  @TimestampColumn({ name: 'created_at' })
  createdAt: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt: Date;
}
