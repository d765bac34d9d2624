import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * The indexes behind `GET /deliveries?upload_id=` and `?contact_id=` (SPEC §6.7), newest first:
 * - They lead with the filter and carry the list's order (created_at, id), so a page reads its 25 rows and stops.
 *   The single-column indexes they replace were not even chosen on SQLite: the planner walked the
 *   organization's whole history through (organization_id, created_at) and filtered it.
 * - Partial, `WHERE x IS NOT NULL`: a delivery has at most one of the two (endpoint tests and a host's own events
 *   have neither), so most rows of each index would be NULL entries. Leaving them out keeps the indexes small; it
 *   does not make a publish measurably faster (the NULL entries all went to one hot leaf). Both engines use such
 *   an index for `x = ?`.
 */
export class SparseDeliveryIndexes1732300017000 implements MigrationInterface {
  name = 'SparseDeliveryIndexes1732300017000';

  async up(q: QueryRunner): Promise<void> {
    await this.replace(q, 'upload_id', new TableIndex({ name: 'idx_deliveries_upload', columnNames: ['upload_id', 'created_at', 'id'], where: 'upload_id IS NOT NULL' }));
    await this.replace(q, 'contact_id', new TableIndex({ name: 'idx_deliveries_contact', columnNames: ['contact_id', 'created_at', 'id'], where: 'contact_id IS NOT NULL' }));
  }

  async down(q: QueryRunner): Promise<void> {
    await this.replace(q, 'upload_id', new TableIndex({ name: 'idx_deliveries_upload', columnNames: ['upload_id'] }));
    await this.replace(q, 'contact_id', new TableIndex({ name: 'idx_deliveries_contact', columnNames: ['contact_id'] }));
  }

  /**
   * Drops the index of that name, or the single-column index on `column` (the first migration let TypeORM name
   * upload_id's), and creates `index`.
   */
  private async replace(q: QueryRunner, column: string, index: TableIndex): Promise<void> {
    const table = await q.getTable('deliveries');
    const old = table?.indices.find((i) => i.name === index.name || (i.columnNames.length === 1 && i.columnNames[0] === column));
    if (old) await q.dropIndex('deliveries', old);
    await q.createIndex('deliveries', index);
  }
}
