import { QueryRunner, TableColumnOptions, TableForeignKey } from 'typeorm';

/** Column shapes shared by every migration, so one migration set serves SQLite and PostgreSQL. */
export const col = {
  id: (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true }),
  uuid: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: '36', isNullable: nullable }),
  str: (name: string, length: number, nullable = false): TableColumnOptions => ({
    name,
    type: 'varchar',
    length: String(length),
    isNullable: nullable,
  }),
  text: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
  int: (name: string, nullable = false, dflt?: number): TableColumnOptions => ({
    name,
    type: 'integer',
    isNullable: nullable,
    ...(dflt === undefined ? {} : { default: dflt }),
  }),
  bigint: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable }),
  /** epoch milliseconds, see database/columns.ts */
  ts: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable }),
  bool: (name: string, dflt: boolean): TableColumnOptions => ({ name, type: 'boolean', default: dflt }),
};

export function fk(column: string, table: string, onDelete: 'CASCADE' | 'SET NULL' | 'RESTRICT' = 'CASCADE'): TableForeignKey {
  return new TableForeignKey({ columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete });
}

/** Whether the migration runs on PostgreSQL (the only other engine is SQLite). */
export const onPostgres = (q: QueryRunner): boolean => q.connection.options.type === 'postgres';
