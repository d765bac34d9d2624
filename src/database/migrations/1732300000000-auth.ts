import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { col, fk } from './schema-helpers';

export class Auth1732300000000 implements MigrationInterface {
  name = 'Auth1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'organizations',
        columns: [
          col.id(),
          col.str('name', 200),
          col.int('credits_balance', false, 0),
          col.str('subscription_status', 16),
          col.int('daily_row_limit', true),
          col.text('features'),
          col.ts('created_at'),
          col.ts('updated_at'),
        ],
        checks: [{ expression: 'credits_balance >= 0' }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'users',
        columns: [col.id(), col.uuid('organization_id'), col.str('email', 320), col.str('role', 16), col.ts('removed_at', true), col.ts('created_at')],
        foreignKeys: [fk('organization_id', 'organizations')],
        indices: [new TableIndex({ columnNames: ['organization_id', 'email'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          col.id(),
          col.uuid('organization_id'),
          col.uuid('user_id'),
          col.str('name', 200),
          col.str('prefix', 12),
          col.str('key_hash', 64),
          col.text('scopes'),
          col.ts('expires_at', true),
          col.ts('revoked_at', true),
          col.ts('last_used_at', true),
          col.ts('created_at'),
        ],
        foreignKeys: [fk('organization_id', 'organizations'), fk('user_id', 'users')],
        indices: [
          new TableIndex({ columnNames: ['key_hash'], isUnique: true }),
          new TableIndex({ columnNames: ['organization_id'] }),
          new TableIndex({ columnNames: ['user_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'rate_limit_counters',
        columns: [{ ...col.str('bucket', 80), isPrimary: true }, col.bigint('window_start'), col.int('count')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['rate_limit_counters', 'api_keys', 'users', 'organizations']) await q.dropTable(t);
  }
}
