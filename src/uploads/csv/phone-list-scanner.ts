import { Readable } from 'node:stream';
import { CsvError, parse, Parser } from 'csv-parse';
import { nanpDigits, normalizePhone } from '../phone/phone-normalizer';

export class CsvFormatError extends Error {}
export class PhoneColumnError extends Error {
  constructor(
    readonly phoneColumn: string,
    readonly header: string[],
  ) {
    super(`phone_column "${phoneColumn}" is not in the CSV header`);
  }
}

/** A long row is almost certainly garbage; refuse it instead of buffering it (a 50 MB single line). */
const MAX_RECORD_BYTES = 1024 * 1024;

export function csvParser(): Parser {
  return parse({ bom: true, relax_column_count: true, skip_empty_lines: true, max_record_size: MAX_RECORD_BYTES });
}

/**
 * Streams CSV rows: the header first, then every data row with its 1-based line number.
 * Parser errors (bad quoting, binary garbage, oversized records) become CsvFormatError with a readable message.
 */
export async function* csvRows(source: Readable): AsyncGenerator<string[]> {
  const parser = csvParser();
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  try {
    for await (const row of parser as AsyncIterable<string[]>) yield row;
  } catch (e) {
    if (e instanceof CsvError) throw new CsvFormatError(`The file is not valid CSV: ${e.message.replace(/^Invalid Record Length: /, '')}`);
    throw e;
  } finally {
    source.unpipe(parser);
    source.destroy();
  }
}

/** NANP numbers fit a double exactly (10 digits), so a growable Float64Array dedupes 8 bytes per row. */
class NumberList {
  private buf = new Float64Array(1024);
  length = 0;

  push(n: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = n;
  }

  /** Sorted distinct values. */
  sortedUnique(): Float64Array {
    const a = this.buf.subarray(0, this.length).sort();
    let w = 0;
    for (let r = 0; r < a.length; r++) if (r === 0 || a[r] !== a[r - 1]) a[w++] = a[r];
    const out = a.slice(0, w);
    this.buf = new Float64Array(0);
    return out;
  }
}

export const e164ToNumber = (e164: string) => Number(e164.slice(2));
export const numberToE164 = (n: number) => `+1${n}`;

export interface ScanResult {
  header: string[];
  phoneIndex: number;
  totalRows: number;
  invalidRows: number;
  duplicateRows: number;
  /** Distinct valid numbers, sorted (10-digit national numbers). */
  unique: Float64Array;
}

/**
 * Which rows count (SPEC §4.3), for the scan and for the result files alike: a data row is read only when it has
 * as many cells as the header (a ragged row is an invalid row); its phone cell is then the candidate number.
 */
function phoneCell(row: string[], header: string[], phoneIndex: number): string | null {
  return row.length === header.length ? row[phoneIndex] : null;
}

/** The data rows of a CSV: every row after the header. */
export async function* dataRows(source: Readable): AsyncGenerator<string[]> {
  let header = true;
  for await (const row of csvRows(source)) {
    if (header) header = false;
    else yield row;
  }
}

/**
 * For the second pass over a scanned list: answers, row by row, the number a row contributes — only the first row
 * of each distinct valid number, null for the rest. scan.unique holds exactly the distinct valid numbers, so the
 * cheap shape check plus a lookup decides validity: the metadata check (the expensive part) ran once, in the scan.
 */
export function firstOccurrences(scan: ScanResult): (row: string[]) => number | null {
  const emitted = new Uint8Array(scan.unique.length);
  return (row) => {
    const cell = phoneCell(row, scan.header, scan.phoneIndex);
    const digits = cell === null ? null : nanpDigits(cell);
    if (!digits) return null;
    const n = Number(digits);
    const idx = indexOfSorted(scan.unique, n);
    if (idx < 0 || emitted[idx]) return null;
    emitted[idx] = 1;
    return n;
  };
}

export function findPhoneColumn(header: string[], phoneColumn: string): number {
  const exact = header.indexOf(phoneColumn);
  if (exact >= 0) return exact;
  const wanted = phoneColumn.trim().toLowerCase();
  return header.findIndex((h) => h.trim().toLowerCase() === wanted);
}

/**
 * One streaming pass over a phone list (SPEC §4.3): a ragged row or an unparsable number is an invalid row;
 * the same E.164 twice is one valid number plus a duplicate. Memory: 8 bytes per valid row.
 */
export async function scanPhoneList(source: Readable, phoneColumn: string): Promise<ScanResult> {
  let header: string[] | null = null;
  let phoneIndex = -1;
  let totalRows = 0;
  let invalidRows = 0;
  const valid = new NumberList();
  for await (const row of csvRows(source)) {
    if (!header) {
      header = row;
      phoneIndex = findPhoneColumn(header, phoneColumn);
      if (phoneIndex < 0) throw new PhoneColumnError(phoneColumn, header);
      continue;
    }
    totalRows++;
    const cell = phoneCell(row, header, phoneIndex);
    const normalized = cell === null ? null : normalizePhone(cell);
    if (normalized) valid.push(e164ToNumber(normalized.e164));
    else invalidRows++;
  }
  if (!header) throw new CsvFormatError('The file is empty: a header row is required');
  const validRows = valid.length;
  const unique = valid.sortedUnique();
  return { header, phoneIndex, totalRows, invalidRows, duplicateRows: validRows - unique.length, unique };
}

/** Index of `n` in a sorted array, or -1. */
export function indexOfSorted(sorted: Float64Array, n: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid];
    if (v === n) return mid;
    if (v < n) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
