import { Column, ColumnOptions, FindOperator, ValueTransformer } from 'typeorm';

/**
 * Timestamps are stored as epoch milliseconds (bigint) on both engines: comparisons in claim queries are plain
 * integer comparisons, ordering is exact, and no driver converts time zones behind our back.
 * PostgreSQL returns int8 as a string, hence Number().
 */
export const epochMs: ValueTransformer = {
  // TypeORM hands over find operators too (`IsNull()`, `Or(IsNull(), LessThan(date))`): convert what they carry.
  // Numbers pass through, so a value transformed twice stays right.
  to: (value: unknown) => {
    if (value instanceof Date) return value.getTime();
    if (value instanceof FindOperator) value.transformValue(epochMs);
    return value;
  },
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
