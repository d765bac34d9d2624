import { compile, compileValues, join, list, raw, rowBool, rowInt, rowIntOrNull, rowsOf, sql } from './sql';

describe('sql tagged template', () => {
  const at = new Date(1_700_000_000_123);

  it('numbers PostgreSQL placeholders in textual order, through nested fragments', () => {
    const inner = sql`b = ${'two'} AND c < ${3}`;
    const q = sql`SELECT * FROM t WHERE a = ${1} AND (${inner}) AND d = ${'four'}`;
    expect(compile('postgres', q)).toEqual({ text: 'SELECT * FROM t WHERE a = $1 AND (b = $2 AND c < $3) AND d = $4', values: [1, 'two', 3, 'four'] });
  });

  it('emits ? on SQLite with the values in the same order', () => {
    const inner = sql`b = ${'two'} AND c < ${3}`;
    const q = sql`SELECT * FROM t WHERE a = ${1} AND (${inner}) AND d = ${'four'}`;
    expect(compile('sqlite', q)).toEqual({ text: 'SELECT * FROM t WHERE a = ? AND (b = ? AND c < ?) AND d = ?', values: [1, 'two', 3, 'four'] });
  });

  it('expands arrays to parameter lists, and an empty one to NULL', () => {
    expect(compile('postgres', sql`x = ${0} AND id IN (${list(['a', 'b', 'c'])}) AND y = ${9}`)).toEqual({
      text: 'x = $1 AND id IN ($2, $3, $4) AND y = $5',
      values: [0, 'a', 'b', 'c', 9],
    });
    expect(compile('sqlite', sql`id IN (${list(['a', 'b'])})`)).toEqual({ text: 'id IN (?, ?)', values: ['a', 'b'] });
    expect(compile('sqlite', sql`id IN (${list([])})`)).toEqual({ text: 'id IN (NULL)', values: [] });
  });

  it('binds null and undefined as NULL parameters', () => {
    expect(compile('postgres', sql`a = ${null}, b = ${undefined}`)).toEqual({ text: 'a = $1, b = $2', values: [null, null] });
    expect(compile('sqlite', sql`a = ${null}, b = ${undefined}`)).toEqual({ text: 'a = ?, b = ?', values: [null, null] });
  });

  it('binds booleans natively on PostgreSQL and as 1/0 on SQLite; Dates as epoch milliseconds', () => {
    expect(compile('postgres', sql`a = ${true} AND b = ${false} AND c = ${at}`).values).toEqual([true, false, 1_700_000_000_123]);
    expect(compile('sqlite', sql`a = ${true} AND b = ${false} AND c = ${at}`).values).toEqual([1, 0, 1_700_000_000_123]);
  });

  it('builds rows as a VALUES list on SQLite and as one typed array per column on PostgreSQL', () => {
    const rows = rowsOf(
      [
        ['a', 1, true, at],
        ['b', null, false, undefined],
      ],
      ['varchar', 'integer', 'boolean', 'bigint'],
    );
    const q = sql`WITH v (id, n, f, t) AS (${rows}) UPDATE t SET n = v.n FROM v WHERE t.id = v.id AND t.k = ${'k'}`;
    expect(compile('postgres', q)).toEqual({
      text: 'WITH v (id, n, f, t) AS (SELECT * FROM unnest($1::varchar[], $2::integer[], $3::boolean[], $4::bigint[])) UPDATE t SET n = v.n FROM v WHERE t.id = v.id AND t.k = $5',
      values: [['a', 'b'], [1, null], [true, false], [1_700_000_000_123, null], 'k'],
    });
    expect(compile('sqlite', q)).toEqual({
      text: 'WITH v (id, n, f, t) AS (VALUES (?, ?, ?, ?), (?, ?, ?, ?)) UPDATE t SET n = v.n FROM v WHERE t.id = v.id AND t.k = ?',
      values: ['a', 1, 1, 1_700_000_000_123, 'b', null, 0, null, 'k'],
    });
    expect(() => compile('sqlite', sql`${rowsOf([], ['varchar'])}`)).toThrow(/at least one row/);
    expect(() => compile('postgres', sql`${rowsOf([['a', 1]], ['varchar'])}`)).toThrow(/one value per type/);
  });

  it('inserts raw text and joins fragments without binding them', () => {
    const cols = join([sql`a = ${1}`, sql`b = ${2}`]);
    expect(compile('postgres', sql`UPDATE ${raw('t')} SET ${cols} WHERE c = ${3}`)).toEqual({ text: 'UPDATE t SET a = $1, b = $2 WHERE c = $3', values: [1, 2, 3] });
    expect(compile('sqlite', sql`x${join([])}y`)).toEqual({ text: 'xy', values: [] });
  });

  it.each(['postgres', 'sqlite'] as const)('compileValues gives exactly the values compile binds, in order (%s)', (dialect) => {
    const rows = rowsOf([['a', 1, true, at], ['b', null, false, undefined]], ['varchar', 'integer', 'boolean', 'bigint']);
    const fragments = [
      sql`WITH v (id, n, f, t) AS (${rows}) UPDATE ${raw('t')} SET n = v.n FROM v WHERE t.id = v.id AND t.k = ${'k'} AND t.b = ${false}`,
      sql`a = ${at} AND id IN (${list(['x', 'y'])}) AND (${join([sql`c = ${null}`, sql`d IN (${list([])})`], ' OR ')}) AND e = ${undefined}`,
      sql`SELECT 1`,
    ];
    for (const f of fragments) expect(compileValues(dialect, f)).toEqual(compile(dialect, f).values);
    expect(() => compileValues(dialect, sql`${rowsOf([['a', 1]], ['varchar'])}`)).toThrow(/one value per type/);
  });

  it('a value that looks like SQL is still a parameter', () => {
    expect(compile('sqlite', sql`a = ${"'; DROP TABLE t; --"}`)).toEqual({ text: 'a = ?', values: ["'; DROP TABLE t; --"] });
  });

  it('reads driver values the same way on both engines', () => {
    expect([rowBool(true), rowBool(1), rowBool('1'), rowBool(false), rowBool(0), rowBool(null)]).toEqual([true, true, true, false, false, false]);
    expect([rowInt('1700000000123'), rowInt(7), rowIntOrNull(null), rowIntOrNull('5')]).toEqual([1_700_000_000_123, 7, null, 5]);
  });
});
