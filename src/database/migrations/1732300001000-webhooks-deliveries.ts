import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { col, fk, onPostgres } from './schema-helpers';

export class WebhooksDeliveries1732300001000 implements MigrationInterface {
  name = 'WebhooksDeliveries1732300001000';

  async up(q: QueryRunner): Promise<void> {
    const pg = onPostgres(q);
    await q.createTable(
      new Table({
        name: 'webhook_endpoints',
        columns: [
          col.id(),
          col.uuid('organization_id'),
          col.uuid('user_id'),
          col.str('url', 2048),
          col.str('description', 500, true),
          col.text('events'),
          col.bool('is_active', true),
          col.text('secret_encrypted'),
          col.text('previous_secret_encrypted', true),
          col.ts('previous_secret_expires_at', true),
          col.ts('verified_at', true),
          col.ts('last_success_at', true),
          col.ts('last_failure_at', true),
          col.int('consecutive_failures', false, 0),
          col.ts('disabled_at', true),
          col.ts('created_at'),
          col.ts('updated_at'),
        ],
        foreignKeys: [fk('organization_id', 'organizations')],
        indices: [new TableIndex({ columnNames: ['organization_id', 'created_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'events',
        columns: [
          { ...col.str('id', 28), isPrimary: true },
          col.uuid('organization_id'),
          col.str('type', 64),
          col.str('api_version', 16),
          col.text('payload'),
          col.uuid('upload_id', true),
          col.ts('created_at'),
        ],
        foreignKeys: [fk('organization_id', 'organizations')],
        indices: [new TableIndex({ columnNames: ['created_at'] }), new TableIndex({ columnNames: ['organization_id', 'created_at'] })],
      }),
    );
    // No foreign key to webhook_endpoints: an endpoint is hard-deleted while its delivery history stays (SPEC 5.7).
    await q.createTable(
      new Table({
        name: 'deliveries',
        columns: [
          col.id(),
          col.uuid('organization_id'),
          col.str('event_id', 28),
          col.str('event_type', 64),
          col.uuid('webhook_endpoint_id', true),
          col.str('target_url', 2048),
          col.text('target_secret_encrypted', true),
          col.uuid('upload_id', true),
          col.str('status', 16),
          col.int('attempt_count', false, 0),
          col.ts('next_retry_at', true),
          col.ts('locked_until', true),
          col.str('locked_by', 64, true),
          col.ts('last_attempt_at', true),
          col.int('last_response_status', true),
          col.str('last_error', 500, true),
          col.ts('delivered_at', true),
          col.ts('created_at'),
          col.ts('updated_at'),
        ],
        foreignKeys: [fk('event_id', 'events')],
        indices: [
          new TableIndex({ name: 'idx_deliveries_due', columnNames: ['status', 'next_retry_at'] }),
          new TableIndex({ columnNames: ['webhook_endpoint_id', 'created_at'] }),
          new TableIndex({ columnNames: ['organization_id', 'created_at'] }),
          new TableIndex({ columnNames: ['upload_id'] }),
          new TableIndex({ columnNames: ['event_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'delivery_attempts',
        columns: [
          col.id(),
          col.uuid('delivery_id'),
          col.int('attempt_number'),
          col.ts('started_at'),
          col.ts('finished_at'),
          col.int('duration_ms'),
          col.int('response_status', true),
          col.str('error_class', 32, true),
          col.str('error_message', 500, true),
          col.text('response_body', true),
        ],
        foreignKeys: [fk('delivery_id', 'deliveries')],
        indices: [new TableIndex({ columnNames: ['delivery_id', 'attempt_number'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['delivery_attempts', 'deliveries', 'events', 'webhook_endpoints']) await q.dropTable(t);
  }
}
