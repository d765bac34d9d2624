import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { col, fk } from './schema-helpers';

/** SPEC §11: one phone number per request. */
export class Contacts1732300003000 implements MigrationInterface {
  name = 'Contacts1732300003000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'contacts',
        columns: [
          col.id(),
          col.uuid('organization_id'),
          col.uuid('user_id'),
          col.uuid('api_key_id'),
          col.str('phone', 16),
          col.text('properties'),
          col.str('status', 16),
          col.str('optimaldial_status', 32, true),
          col.str('line_type', 32, true),
          col.str('error_message', 1000, true),
          col.int('credits_charged', false, 1),
          col.str('callback_url', 2048, true),
          col.text('callback_secret_encrypted', true),
          col.text('callback_credentials_encrypted', true),
          col.str('idempotency_key', 255, true),
          col.str('request_hash', 64),
          col.ts('locked_until', true),
          col.str('locked_by', 64, true),
          col.ts('created_at'),
          col.ts('updated_at'),
          col.ts('completed_at', true),
        ],
        foreignKeys: [fk('organization_id', 'organizations')],
        indices: [
          // Idempotency is decided here: concurrent creates with one key insert one row (NULL keys never collide).
          new TableIndex({ name: 'uq_contacts_idempotency', columnNames: ['organization_id', 'api_key_id', 'idempotency_key'], isUnique: true }),
          new TableIndex({ columnNames: ['organization_id', 'created_at'] }),
          new TableIndex({ name: 'idx_contacts_due', columnNames: ['status', 'created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('contacts');
  }
}
