import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { col, fk } from './schema-helpers';

export class Uploads1732300002000 implements MigrationInterface {
  name = 'Uploads1732300002000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'uploads',
        columns: [
          col.id(),
          col.uuid('organization_id'),
          col.uuid('user_id'),
          col.uuid('api_key_id', true),
          col.str('original_filename', 255),
          col.str('storage_path', 255),
          col.str('phone_column', 255, true),
          col.bigint('file_size_bytes'),
          col.str('status', 32),
          col.int('total_rows', false, 0),
          col.int('valid_row_count', false, 0),
          col.int('invalid_row_count', false, 0),
          col.int('duplicate_row_count', false, 0),
          col.int('credits_required', false, 0),
          col.int('credits_charged', false, 0),
          col.int('credits_refunded', false, 0),
          col.str('source', 8),
          col.bool('skip_mobile_lookup', false),
          col.str('processed_storage_path', 255, true),
          col.str('processed_filtered_storage_path', 255, true),
          col.str('error_message', 1000, true),
          col.bool('exceeded_daily_limit', false),
          col.text('webhook', true),
          col.text('webhook_secret_encrypted', true),
          col.ts('locked_until', true),
          col.str('locked_by', 64, true),
          col.ts('created_at'),
          col.ts('updated_at'),
          col.ts('processing_started_at', true),
          col.ts('completed_at', true),
        ],
        foreignKeys: [fk('organization_id', 'organizations')],
        indices: [
          new TableIndex({ columnNames: ['organization_id', 'created_at'] }),
          new TableIndex({ name: 'idx_uploads_due', columnNames: ['status', 'created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('uploads');
  }
}
