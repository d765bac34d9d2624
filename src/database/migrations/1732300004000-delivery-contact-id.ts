import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { col } from './schema-helpers';

/** SPEC §6.1/§6.7: deliveries about a contact, queried with `GET /api/v1/deliveries?contact_id=`. */
export class DeliveryContactId1732300004000 implements MigrationInterface {
  name = 'DeliveryContactId1732300004000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('deliveries', new TableColumn(col.uuid('contact_id', true)));
    await q.createIndex('deliveries', new TableIndex({ name: 'idx_deliveries_contact', columnNames: ['contact_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('deliveries', 'idx_deliveries_contact');
    await q.dropColumn('deliveries', 'contact_id');
  }
}
