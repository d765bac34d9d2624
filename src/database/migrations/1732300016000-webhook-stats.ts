import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * One index for the endpoint stats route (SPEC §5.8), read on every developer-panel load:
 * (webhook_endpoint_id, status, last_attempt_at) answers both of its questions —
 * - the deliveries of one endpoint attempted inside the window (one range per status), so the query touches only
 *   the window's attempts of that endpoint however much history the table holds;
 * - its pending / in-flight count now (the prefix).
 * One index and not two: every delivery written and every status change pays for each index on this table, and
 * on SQLite that cost is a WAL page per endpoint per commit (bench/deliveries.bench.ts: publish ~20 % faster).
 */
export class WebhookStats1732300016000 implements MigrationInterface {
  name = 'WebhookStats1732300016000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('deliveries', new TableIndex({ name: 'idx_deliveries_endpoint_status_attempted', columnNames: ['webhook_endpoint_id', 'status', 'last_attempt_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('deliveries', 'idx_deliveries_endpoint_status_attempted');
  }
}
