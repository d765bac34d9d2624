import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BigIntColumn } from '../database/columns';

/** One row per (scope, id): a fixed window that starts at the first request after the previous one ended. */
@Entity('rate_limit_counters')
export class RateLimitCounter {
  @PrimaryColumn({ type: 'varchar', length: 80 })
  bucket: string;

  @BigIntColumn({ name: 'window_start' })
  windowStart: number;

  @Column({ type: 'integer' })
  count: number;
}
