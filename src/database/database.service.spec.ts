import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from './database.service';
import { sql, tuples } from './sql';

/** A DatabaseService over a fake driver that records every statement it is given and answers with its row count. */
function serviceFor(type: 'postgres' | 'better-sqlite3') {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const dataSource = {
    options: { type },
    subscribers: [],
    createQueryRunner: () => {
      throw new Error('rowsPerBatch must use the manager it is given');
    },
    driver: { obtainMasterConnection: async () => undefined },
  } as unknown as DataSource;
  const db = new DatabaseService(dataSource, { nodeEnv: 'test' } as AppConfig);
  const manager = {
    queryRunner: {
      query: async (text: string, values: unknown[]) => {
        statements.push({ text, values });
        return { records: values.filter((_, i) => i % 2 === 0).map((id) => ({ id })) };
      },
    },
  } as unknown as EntityManager;
  return { db, manager, statements };
}

const items = Array.from({ length: 601 }, (_, i) => ({ id: `d${i}`, n: i }));
const insert = (part: readonly { id: string; n: number }[]) => sql`INSERT INTO t (id, n) VALUES ${tuples(part.map((r) => [r.id, r.n]))} RETURNING id`;

describe('DatabaseService.rowsPerBatch', () => {
  it.each([
    ['postgres', [250, 250, 101]],
    ['better-sqlite3', Array(601).fill(1)],
  ] as const)('on %s runs parts of the right size, in order, and returns every row', async (type, sizes) => {
    const { db, manager, statements } = serviceFor(type);
    const rows = await db.rowsPerBatch(manager, items, insert);
    expect(statements.map((s) => s.values.length / 2)).toEqual(sizes);
    expect(rows.map((r) => r.id)).toEqual(items.map((r) => r.id));
    expect(statements.flatMap((s) => s.values)).toEqual(items.flatMap((r) => [r.id, r.n]));
  });

  it('on SQLite gives every row the same statement text (one prepared statement)', async () => {
    const { db, manager, statements } = serviceFor('better-sqlite3');
    await db.rowsPerBatch(manager, items.slice(0, 3), insert);
    expect(new Set(statements.map((s) => s.text))).toEqual(new Set(['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id']));
  });

  it('runs nothing for no rows', async () => {
    const { db, manager, statements } = serviceFor('postgres');
    expect(await db.rowsPerBatch(manager, [], insert)).toEqual([]);
    expect(statements).toEqual([]);
  });
});
