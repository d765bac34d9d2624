import { ApiError } from './api-error';

/** Opaque keyset cursor: the (created_at, id) of the last row of the previous page. */
export interface CursorPosition {
  createdAtMs: number;
  id: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.createdAtMs}:${pos.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined | null): CursorPosition | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const m = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(text);
  if (!m) throw ApiError.validation('cursor is not a valid cursor', { cursor: ['is not a valid cursor'] });
  return { createdAtMs: Number(m[1]), id: m[2] };
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Rows fetched with limit + 1: the extra row only tells whether another page exists. */
export function toPage<R, T>(rows: R[], limit: number, position: (row: R) => CursorPosition, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return {
    data: pageRows.map(map),
    next_cursor: more ? encodeCursor(position(pageRows[pageRows.length - 1])) : null,
  };
}
