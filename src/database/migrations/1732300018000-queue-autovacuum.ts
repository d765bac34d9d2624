import { MigrationInterface, QueryRunner } from 'typeorm';
import { onPostgres } from './schema-helpers';

/**
 * PostgreSQL: let autovacuum clean the delivery and contact queues at 2 % dead rows instead of its default 20 %
 * (nothing on SQLite, which keeps no dead rows). Every delivery leaves two dead row versions behind (its claim and
 * its outcome), and neither is a HOT update: `status` is indexed. Until a VACUUM, every claim walks their entries
 * in the due index (its `pending` and `in_flight` ranges): bench/deliveries.bench.ts on PostgreSQL 15 drained
 * 1,582/s after an 80,000-delivery drain with autovacuum off, 2,629/s with it on. `deliveries` also keeps 60 days of
 * history, so a fifth of it can be millions of dead rows before the default would start; ANALYZE follows the same
 * rule, so the claim is planned from statistics of the table as it is.
 */
export class QueueAutovacuum1732300018000 implements MigrationInterface {
  name = 'QueueAutovacuum1732300018000';

  async up(q: QueryRunner): Promise<void> {
    if (!onPostgres(q)) return;
    for (const table of ['deliveries', 'contacts']) {
      await q.query(
        `ALTER TABLE ${table} SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    if (!onPostgres(q)) return;
    for (const table of ['deliveries', 'contacts']) {
      await q.query(
        `ALTER TABLE ${table} RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)`,
      );
    }
  }
}
