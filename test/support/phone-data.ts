/**
 * Test data for uploads: valid US/Canadian phone numbers (real area codes, exchanges 200–999 except 555 and the
 * N11 service codes, so libphonenumber-js `max` accepts them) and CSV text built the way a customer's
 * spreadsheet export would look.
 */

/** Real, assigned area codes: US (415 San Francisco, 212/646 New York, 312 Chicago, 617 Boston, 206 Seattle) and Canada (416 Toronto, 604 Vancouver). */
export const AREA_CODES = ['415', '212', '646', '312', '617', '206', '416', '604'] as const;
export const CANADIAN_AREA_CODES = new Set(['416', '604']);

const EXCHANGES: string[] = [];
for (let x = 200; x <= 999; x++) {
  if (x === 555 || x % 100 === 11) continue; // fictional range; N11 service codes
  EXCHANGES.push(String(x));
}

/**
 * The i-th number of a deterministic sequence of distinct valid numbers, E.164. Distinct for every i below
 * AREA_CODES.length × EXCHANGES.length × 10,000 (about 50 million).
 */
export function validPhone(i: number): string {
  const area = AREA_CODES[i % AREA_CODES.length];
  const j = Math.floor(i / AREA_CODES.length);
  const subscriber = String(j % 10_000).padStart(4, '0');
  const exchange = EXCHANGES[Math.floor(j / 10_000) % EXCHANGES.length];
  return `+1${area}${exchange}${subscriber}`;
}

/** `n` distinct valid E.164 numbers starting at position `start` of the sequence (use different starts for disjoint sets). */
export function validPhones(n: number, start = 0): string[] {
  return Array.from({ length: n }, (_, k) => validPhone(start + k));
}

/** Same number, in one of the shapes SPEC §4.3 accepts (chosen by `shape`, cycling). */
export function formatPhone(e164: string, shape: number): string {
  const d = e164.slice(2); // 10 digits
  const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
  switch (shape % 6) {
    case 0:
      return e164;
    case 1:
      return `1${d}`;
    case 2:
      return d;
    case 3:
      return `(${a}) ${b}-${c}`;
    case 4:
      return `${a}.${b}.${c}`;
    default:
      return `+1 ${a}-${b}-${c}`;
  }
}

/** Numbers that must be rejected: malformed, fictional, toll-free, premium, other NANP country, non-NANP. */
export const INVALID_PHONES = [
  '',
  'not a number',
  '415234567',
  '4150234567',
  '4151234567',
  '2125550123',
  '8002345678',
  '9002345678',
  '8762345678',
  '+44 20 7946 0958',
] as const;

/** One CSV cell, quoted when it needs to be (RFC 4180). */
export function csvCell(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text from rows (the first is the header). `eol` defaults to CRLF, as spreadsheet exports write it. */
export function csvText(rows: unknown[][], options: { bom?: boolean; eol?: string; trailingEol?: boolean } = {}): string {
  const eol = options.eol ?? '\r\n';
  const body = rows.map((r) => r.map(csvCell).join(',')).join(eol) + (options.trailingEol === false ? '' : eol);
  return (options.bom ? '\uFEFF' : '') + body;
}

/** A phone-list CSV with `phone` and `name` columns: the given numbers, one per row. */
export function phoneCsv(phones: string[], options: { bom?: boolean; eol?: string; column?: string } = {}): string {
  return csvText([[options.column ?? 'phone', 'name'], ...phones.map((p, i) => [p, `Contact ${i}`])], options);
}

/** A minimal RFC 4180 parser for reading result files back in tests (quotes, doubled quotes, CRLF/LF, newlines in fields). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Rows of a parsed CSV as objects keyed by the header. */
export function csvObjects(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}
