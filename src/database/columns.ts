import { Column, ColumnOptions, ValueTransformer } from 'typeorm';

/**
 * Timestamps are stored as epoch milliseconds (bigint) on both engines: comparisons in claim queries are plain
 * integer comparisons, ordering is exact, and no driver converts time zones behind our back.
 * PostgreSQL returns int8 as a string, hence Number().
 */
export const epochMs: ValueTransformer = {
  to: (value: Date | null | undefined) => (value == null ? value : value.getTime()),
  from: (value: string | number | null) => (value == null ? null : new Date(Number(value))),
};

export const intTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value == null ? null : Number(value)),
};

export function TimestampColumn(options: Omit<ColumnOptions, 'type' | 'transformer'> = {}): PropertyDecorator {
  return Column({ type: 'bigint', transformer: epochMs, ...options });
}

export function BigIntColumn(options: Omit<ColumnOptions, 'type' | 'transformer'> = {}): PropertyDecorator {
  return Column({ type: 'bigint', transformer: intTransformer, ...options });
}

export const uuidColumn = { type: 'varchar', length: 36 } as const;
