import { MigrationInterface, QueryRunner } from 'typeorm';
import { fk, onPostgres } from './schema-helpers';

/**
 * PostgreSQL: `delivery_attempts.delivery_id` loses its foreign key (nothing on SQLite).
 *
 * The drain inserts an attempt for every settled delivery, and PostgreSQL checked each one against its delivery with
 * a `SELECT … FOR KEY SHARE`: one row lock per attempt, written into the delivery's row just before the same
 * transaction updates that row with the outcome. bench/deliveries.bench.ts on PostgreSQL 15 (`BENCH_N=2000
 * BENCH_SCENARIOS=drain`, old and new alternating): the drain's 128-row attempt insert took 4.0–5.0 ms with the
 * constraint and 2.2–3.0 ms without (six pairs), and the drain ran 2,908–3,185/s against 3,237–3,313/s (three).
 *
 * Nothing needs the constraint or its cascade. Attempts are written only for deliveries the drain has claimed, and
 * deliveries are deleted only by retention, which takes a delivery's attempts first (deleteOlderThan), only for
 * finished deliveries, and weeks after their last attempt. The index on (delivery_id, attempt_number) stays: it
 * serves the delivery's attempt list, the endpoint stats and retention.
 *
 * SQLite keeps its constraint. There the check is a lookup in the same process, with no lock to write, and dropping
 * a constraint means rebuilding the table: a full copy of every attempt, the kind of rebuild the contract migration
 * avoids on `deliveries`.
 */
export class AttemptsWithoutDeliveryFk1732300019000 implements MigrationInterface {
  name = 'AttemptsWithoutDeliveryFk1732300019000';

  async up(q: QueryRunner): Promise<void> {
    if (!onPostgres(q)) return;
    const table = await q.getTable('delivery_attempts');
    const key = table?.foreignKeys.find((k) => k.referencedTableName === 'deliveries' && k.columnNames.join() === 'delivery_id');
    if (key) await q.dropForeignKey('delivery_attempts', key);
  }

  async down(q: QueryRunner): Promise<void> {
    if (!onPostgres(q)) return;
    await q.createForeignKey('delivery_attempts', fk('delivery_id', 'deliveries'));
  }
}
