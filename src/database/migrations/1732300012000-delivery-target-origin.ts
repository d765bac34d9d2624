import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { col } from './schema-helpers';

/**
 * Per-request targets (no endpoint) get the per-endpoint concurrency bound per target origin (scheme + host +
 * port): the claim counts in-flight rows by `COALESCE(webhook_endpoint_id, target_origin, id)`. Rows written
 * before this column existed have none and keep the old per-row behaviour until they finish.
 */
export class DeliveryTargetOrigin1732300012000 implements MigrationInterface {
  name = 'DeliveryTargetOrigin1732300012000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('deliveries', new TableColumn(col.str('target_origin', 2048, true)));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('deliveries', 'target_origin');
  }
}
