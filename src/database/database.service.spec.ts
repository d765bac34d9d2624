import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from './database.service';
import { list, rowsOf, sql } from './sql';

/**
 * A DatabaseService over a fake driver that records every statement it is given and answers with the ids it was
 * given (the first column: an array of them on PostgreSQL, one on SQLite): PostgreSQL's statements through the
 * transaction's pg client, SQLite's through the driver connection's prepared statements (what rowsPerBatch uses).
 */
function serviceFor(type: 'postgres' | 'better-sqlite3', failOn?: string) {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const prepared: string[] = [];
  const answer = (text: string, values: unknown[]) => {
    if (failOn && ([] as unknown[]).concat(values[0]).includes(failOn)) throw new Error('UNIQUE constraint failed: t.id');
    statements.push({ text, values });
    return ([] as unknown[]).concat(values[0]).map((id) => ({ id }));
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
  const names = new Set<string>();
  const client = {
    query: async ({ name, text, values }: { name: string; text: string; values: unknown[] }) => {
      names.add(name);
      return { rows: answer(text, values), rowCount: null };
    },
  };
  const manager = {
    queryRunner: {
      connect: async () => {
        if (type !== 'postgres') throw new Error('SQLite statements must not go through the query runner');
        return client;
      },
    },
  } as unknown as EntityManager;
  return { db, manager, statements, prepared, names };
}

const items = Array.from({ length: 601 }, (_, i) => ({ id: `d${i}`, n: i }));
const insert = (part: readonly { id: string; n: number }[]) => sql`INSERT INTO t (id, n) ${rowsOf(part.map((r) => [r.id, r.n]), ['varchar', 'integer'])} RETURNING id`;

describe('DatabaseService.rowsPerBatch', () => {
  it('on PostgreSQL runs parts of up to 250 rows as one named prepared statement, in order, and returns every row', async () => {
    const { db, manager, statements, names } = serviceFor('postgres');
    const rows = await db.rowsPerBatch(manager, items, insert);
    expect(new Set(statements.map((s) => s.text)).size).toBe(1);
    expect([...names]).toEqual([expect.stringMatching(/^od_[0-9a-f]{20}$/)]);
    expect(statements.map((s) => (s.values[0] as string[]).length)).toEqual([250, 250, 101]);
    expect(rows.map((r) => r.id)).toEqual(items.map((r) => r.id));
    expect(statements.flatMap((s) => s.values[1] as number[])).toEqual(items.map((r) => r.n));
  });

  it('on SQLite runs one row per statement, in order, and returns every row', async () => {
    const { db, manager, statements } = serviceFor('better-sqlite3');
    const rows = await db.rowsPerBatch(manager, items, insert);
    expect(statements.map((s) => s.values)).toEqual(items.map((r) => [r.id, r.n]));
    expect(rows.map((r) => r.id)).toEqual(items.map((r) => r.id));
  });

  it('on SQLite prepares the one-row statement once and runs it per row', async () => {
    const { db, manager, statements, prepared } = serviceFor('better-sqlite3');
    await db.rowsPerBatch(manager, items, insert);
    expect(prepared).toEqual(['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id']);
    expect(statements).toHaveLength(items.length);
  });

  it('on SQLite compiles a row in full when its statement has another shape than the row before', async () => {
    const { db, manager, statements, prepared } = serviceFor('better-sqlite3');
    // two templates in turn, and a list whose length varies: every row still runs its own text with its own values
    const mixed = (part: readonly { id: string; n: number }[]) =>
      part[0].n === 2 || part[0].n >= 4 ? sql`DELETE FROM t WHERE id IN (${list(Array.from({ length: part[0].n }, (_, i) => `${part[0].id}.${i}`))})` : insert(part);
    await db.rowsPerBatch(manager, items.slice(0, 6), mixed);
    expect(statements.map((s) => [s.text, s.values.length])).toEqual([
      ['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id', 2],
      ['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id', 2],
      ['DELETE FROM t WHERE id IN (?, ?)', 2],
      ['INSERT INTO t (id, n) VALUES (?, ?) RETURNING id', 2],
      ['DELETE FROM t WHERE id IN (?, ?, ?, ?)', 4],
      ['DELETE FROM t WHERE id IN (?, ?, ?, ?, ?)', 5],
    ]);
    expect(new Set(prepared).size).toBe(prepared.length);
  });

  it.each(['postgres', 'better-sqlite3'] as const)('on %s reports a failed statement as a QueryFailedError, as TypeORM does', async (type) => {
    const { db, manager } = serviceFor(type, 'd7');
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
