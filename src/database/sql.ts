/**
 * Hot-path SQL without the ORM, for both engines. A statement is written once as a tagged template:
 *
 *   sql`UPDATE deliveries SET status = ${status} WHERE id IN (${list(ids)}) AND is_active = ${true}`
 *
 * and compiled per dialect: values become `$1, $2, …` (PostgreSQL) or `?` (SQLite) in textual order, from one
 * values array, so no caller hand-orders parameters or branches on the engine. Booleans are bound as booleans on
 * PostgreSQL and as 1/0 on SQLite (better-sqlite3 refuses booleans); Dates as epoch milliseconds (every
 * timestamp column is epoch ms, see columns.ts). Fragments nest; `list()` expands an array to a parameter list,
 * `tuples()` to the rows of a `VALUES` list, `raw()` inserts trusted text (never user input).
 */
export type Dialect = 'postgres' | 'sqlite';

export type SqlValue = string | number | bigint | boolean | Date | Buffer | null | undefined;

type Part = SqlFragment | RawSql | ListSql | TuplesSql | SqlValue;

export class SqlFragment {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly Part[],
  ) {}
}

class RawSql {
  constructor(readonly text: string) {}
}

class ListSql {
  constructor(readonly items: readonly SqlValue[]) {}
}

class TuplesSql {
  constructor(
    readonly rows: ReadonlyArray<readonly SqlValue[]>,
    readonly casts: ReadonlyArray<string | null> | null,
  ) {}
}

export function sql(strings: TemplateStringsArray | readonly string[], ...values: Part[]): SqlFragment {
  return new SqlFragment(strings, values);
}

/** Trusted SQL text (identifiers, keywords): never a value that came from outside. */
export const raw = (text: string): RawSql => new RawSql(text);

/** `a, b, c` as parameters; an empty list compiles to `NULL` so `IN (…)` matches nothing instead of failing. */
export const list = (items: readonly SqlValue[]): ListSql => new ListSql(items);

/**
 * The rows of a `VALUES` list: `(a, b), (c, d)`. `casts` (one per column, null for none) wraps the first row's
 * parameters in `CAST(… AS type)`, which types the whole column: PostgreSQL would otherwise read an untyped
 * parameter in `VALUES` as text. Type names must be valid on both engines (integer, bigint, varchar, text).
 */
export const tuples = (rows: ReadonlyArray<readonly SqlValue[]>, casts: ReadonlyArray<string | null> | null = null): TuplesSql =>
  new TuplesSql(rows, casts);

/** Joins fragments with a separator (itself trusted text). */
export function join(parts: readonly SqlFragment[], separator = ', '): SqlFragment {
  if (!parts.length) return sql``;
  const strings = ['', ...parts.slice(1).map(() => separator), ''];
  return new SqlFragment(strings, parts);
}

export interface CompiledSql {
  text: string;
  values: unknown[];
}

/** Compiles a fragment for one engine. */
export function compile(dialect: Dialect, fragment: SqlFragment): CompiledSql {
  const values: unknown[] = [];
  const pg = dialect === 'postgres';
  const bind = (v: SqlValue): string => {
    values.push(bindValue(dialect, v));
    return pg ? `$${values.length}` : '?';
  };
  const walk = (f: SqlFragment): string => {
    let text = f.strings[0];
    for (let i = 0; i < f.values.length; i++) {
      const v = f.values[i];
      if (v instanceof SqlFragment) text += walk(v);
      else if (v instanceof RawSql) text += v.text;
      else if (v instanceof ListSql) text += v.items.length ? v.items.map(bind).join(', ') : 'NULL';
      else if (v instanceof TuplesSql) text += tuplesText(v, bind);
      else text += bind(v);
      text += f.strings[i + 1];
    }
    return text;
  };
  return { text: walk(fragment), values };
}

function tuplesText(t: TuplesSql, bind: (v: SqlValue) => string): string {
  if (!t.rows.length) throw new Error('tuples(): a VALUES list needs at least one row');
  return t.rows
    .map((r, i) => `(${r.map((v, c) => (i === 0 && t.casts?.[c] ? `CAST(${bind(v)} AS ${t.casts[c]})` : bind(v))).join(', ')})`)
    .join(', ');
}

function bindValue(dialect: Dialect, v: SqlValue): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return dialect === 'postgres' ? v : v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return v;
}

/* ---------------- reading result rows (the drivers differ: PostgreSQL returns int8 as a string) ---------------- */

export type Row = Record<string, unknown>;

export const rowInt = (v: unknown): number => Number(v);
export const rowIntOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
export const rowBool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't' || v === 'true';
export const rowStrOrNull = (v: unknown): string | null => (v == null ? null : (v as string));
