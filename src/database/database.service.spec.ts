import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from './database.service';
import { sql, tuples } from './sql';

/**
 * A DatabaseService over a fake driver that records every statement it is given and answers with the ids among
 * its values: PostgreSQL's through the manager's query runner, SQLite's through the driver connection's prepared
 * statements (what rowsPerBatch uses there).
 */
function serviceFor(type: 'postgres' | 'better-sqlite3', failOn?: string) {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const prepared: string[] = [];
  const answer = (text: string, values: unknown[]) => {
    if (failOn && values.includes(failOn)) throw new Error('UNIQUE constraint failed: t.id');
    statements.push({ text, values });
    return values.filter((_, i) => i % 2 === 0).map((id) => ({ id }));
  };
  const dataSource = {
    options: { type },
    subscribers: [],
    createQueryRunner: () => {
      throw new Error('rowsPerBatch must use the manager it is given');
    },
    driver: {
      obtainMasterConnection: async () => undefined,
      databaseConnection: {
        prepare: (text: string) => {
          prepared.push(text);
          return { reader: /RETURNING/.test(text), all: (...v: unknown[]) => answer(text, v), run: (...v: unknown[]) => void answer(text, v) };
        },
      },
    },
  } as unknown as DataSource;
  const db = new DatabaseService(dataSource, { nodeEnv: 'test' } as AppConfig);
  const manager = {
    queryRunner: {
      query: async (text: string, values: unknown[]) => {
        if (type !== 'postgres') throw new Error('SQLite statements must not go through the query runner');
        return { records: answer(text, values) };
      },
    },
  } as unknown as EntityManager;
  return { db, manager, statements, prepared };
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

  it('on SQLite prepares the one-row statement once and runs it per row', async () => {
    const { db, manager, statements, prepared } = serviceFor('better-sqlite3');
    await db.rowsPerBatch(manager, items, insert);
    expect(prepared).toEqual(['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id']);
    expect(statements).toHaveLength(items.length);
  });

  it('on SQLite reports a failed statement as a QueryFailedError, as TypeORM does', async () => {
    const { db, manager } = serviceFor('better-sqlite3', 'd7');
    const failure = db.rowsPerBatch(manager, items.slice(0, 10), insert);
    await expect(failure).rejects.toBeInstanceOf(QueryFailedError);
    await expect(failure).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it('runs nothing for no rows', async () => {
    const { db, manager, statements } = serviceFor('postgres');
    expect(await db.rowsPerBatch(manager, [], insert)).toEqual([]);
    expect(statements).toEqual([]);
  });
});
