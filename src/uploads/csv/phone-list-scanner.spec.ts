import { Readable } from 'node:stream';
import { CsvFormatError, csvRows, findPhoneColumn, indexOfSorted, numberToE164, PhoneColumnError, scanPhoneList } from './phone-list-scanner';

const from = (text: string | Buffer) => Readable.from([Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')]);
/** Byte-at-a-time source: every multi-byte character, quote and CRLF is split across chunks. */
const trickle = (text: string) => Readable.from([...Buffer.from(text, 'utf8')].map((b) => Buffer.from([b])));

const valid = ['+14152345678', '(212) 345-6789', '646.456.7890', '13122345678', '6172345678', '+1 416-234-5678'];
const e164 = ['+14152345678', '+12123456789', '+16464567890', '+13122345678', '+16172345678', '+14162345678'];

describe('scanPhoneList (SPEC §4.3)', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('counts valid, invalid and duplicate rows (%s)', async (_n, eol) => {
    const csv = ['name,phone', ...valid.map((p, i) => `n${i},${p}`), 'dup,4152345678', 'bad,555-0100', 'empty,', ''].join(eol);
    const r = await scanPhoneList(from(csv), 'phone');
    expect(r).toMatchObject({ header: ['name', 'phone'], phoneIndex: 1, totalRows: 9, invalidRows: 2, duplicateRows: 1 });
    expect([...r.unique].map(numberToE164).sort()).toEqual([...e164].sort());
  });

  it('handles a BOM, quoted commas, quotes and newlines inside fields, split across chunks', async () => {
    const csv = '\uFEFF"Full, Name","Phone"\r\n"Doe, Jane","(415) 234-5678"\r\n"multi\r\nline ""quoted""",212 345 6789\r\n';
    for (const source of [from(csv), trickle(csv)]) {
      const r = await scanPhoneList(source, 'Phone');
      expect(r).toMatchObject({ header: ['Full, Name', 'Phone'], totalRows: 2, invalidRows: 0, duplicateRows: 0 });
      expect(r.unique).toHaveLength(2);
    }
  });

  it('a ragged row (too few or too many cells) is an invalid row, not an error', async () => {
    const csv = 'name,phone,city\nA,4152345678,SF\nB,2123456789\nC,6464567890,NY,extra\n';
    const r = await scanPhoneList(from(csv), 'phone');
    expect(r).toMatchObject({ totalRows: 3, invalidRows: 2, duplicateRows: 0 });
    expect(r.unique).toHaveLength(1);
  });

  it('dedupes across many rows (the buffer grows past its first allocation) and keeps the result sorted', async () => {
    const rows = ['phone'];
    const exchanges = Array.from({ length: 700 }, (_, k) => 200 + k).filter((x) => x !== 555 && x % 100 !== 11); // 555 and N11 are invalid
    for (let i = 0; i < 5000; i++) rows.push(`+1415${exchanges[i % exchanges.length]}${String(i).padStart(4, '0')}`);
    for (let i = 0; i < 1000; i++) rows.push(rows[1 + i]);
    const r = await scanPhoneList(from(rows.join('\n')), 'phone');
    expect(r).toMatchObject({ totalRows: 6000, invalidRows: 0, duplicateRows: 1000 });
    expect(r.unique).toHaveLength(5000);
    for (let i = 1; i < r.unique.length; i++) expect(r.unique[i]).toBeGreaterThan(r.unique[i - 1]);
    expect(indexOfSorted(r.unique, 4152000000)).toBe(0);
    expect(indexOfSorted(r.unique, 4150000000)).toBe(-1);
  });

  it('a phone column missing from the header is a PhoneColumnError naming the columns', async () => {
    await expect(scanPhoneList(from('name,mobile\nA,4152345678\n'), 'phone')).rejects.toThrow(PhoneColumnError);
    await expect(scanPhoneList(from('name,mobile\nA,4152345678\n'), 'phone')).rejects.toMatchObject({ header: ['name', 'mobile'] });
  });

  it('an empty file, or broken quoting, is a CsvFormatError', async () => {
    await expect(scanPhoneList(from(''), 'phone')).rejects.toThrow(CsvFormatError);
    await expect(scanPhoneList(from('phone\n"4152345678\n'), 'phone')).rejects.toThrow(CsvFormatError);
  });

  it('a header-only file has no rows', async () => {
    const r = await scanPhoneList(from('phone\r\n'), 'phone');
    expect(r).toMatchObject({ totalRows: 0, invalidRows: 0, duplicateRows: 0 });
  });

  it('a read error of the source surfaces (it does not hang)', async () => {
    const broken = new Readable({ read() { this.destroy(Object.assign(new Error('disk gone'), { code: 'EIO' })); } });
    await expect(scanPhoneList(broken, 'phone')).rejects.toThrow(/disk gone/);
  });
});

describe('findPhoneColumn', () => {
  it('prefers an exact match, then a case- and space-insensitive one', () => {
    expect(findPhoneColumn(['Phone', 'phone'], 'phone')).toBe(1);
    expect(findPhoneColumn(['Name', ' Mobile Phone '], 'mobile phone')).toBe(1);
    expect(findPhoneColumn(['Name'], 'phone')).toBe(-1);
  });
});

describe('csvRows', () => {
  it('yields the header first, then rows, and skips blank lines', async () => {
    const rows: string[][] = [];
    for await (const r of csvRows(from('a,b\n\n1,2\n'))) rows.push(r);
    expect(rows).toEqual([['a', 'b'], ['1', '2']]);
  });
});
