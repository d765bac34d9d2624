import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * Indexes for the endpoint stats route (SPEC §5.8), read on every developer-panel load:
 * - (webhook_endpoint_id, last_attempt_at): the deliveries of one endpoint attempted inside the window, so the
 *   query touches only the window's attempts of that endpoint however much history the table holds;
 * - (webhook_endpoint_id, status): its pending / held count now.
 */
export class WebhookStats1732300016000 implements MigrationInterface {
  name = 'WebhookStats1732300016000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('deliveries', new TableIndex({ name: 'idx_deliveries_endpoint_attempted', columnNames: ['webhook_endpoint_id', 'last_attempt_at'] }));
    await q.createIndex('deliveries', new TableIndex({ name: 'idx_deliveries_endpoint_status', columnNames: ['webhook_endpoint_id', 'status'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('deliveries', 'idx_deliveries_endpoint_status');
    await q.dropIndex('deliveries', 'idx_deliveries_endpoint_attempted');
  }
}
