import { normalizePhone } from './phone-normalizer';
import { classifyOffline, PHONE_STATUSES } from './phone-classifier';
import { spreadsheetSafe } from '../csv/spreadsheet-safe';

describe('normalizePhone (SPEC §4.3)', () => {
  it.each([
    ['+14152345678', '+14152345678', 'US'],
    ['14152345678', '+14152345678', 'US'],
    ['4152345678', '+14152345678', 'US'],
    ['(415) 234-5678', '+14152345678', 'US'],
    ['415.234.5678', '+14152345678', 'US'],
    ['+1 415-234-5678', '+14152345678', 'US'],
    ['  212 234 5678 ', '+12122345678', 'US'],
    ['4162345678', '+14162345678', 'CA'],
    ['+1 (604) 234-5678', '+16042345678', 'CA'],
  ])('accepts %s', (raw, e164, country) => {
    expect(normalizePhone(raw)).toMatchObject({ e164, country });
  });

  it.each([
    ['', 'empty'],
    ['415234567', 'nine digits'],
    ['041523456789', 'too long'],
    ['4150234567', 'exchange starting with 0'],
    ['4151234567', 'exchange starting with 1'],
    ['2125550123', 'fictional 555'],
    ['8002345678', 'toll-free'],
    ['9002345678', 'premium-rate'],
    ['8762345678', 'Jamaica (other NANP country)'],
    ['+44 20 7946 0958', 'UK'],
    ['+2 415 234 5678', 'wrong country code'],
    ['415-CALL-NOW', 'letters'],
    ['=HYPERLINK("x")', 'formula'],
    ['1112345678', 'unassigned area code'],
  ])('rejects %s (%s)', (raw) => {
    expect(normalizePhone(raw)).toBeNull();
  });

  it('rejects non-strings', () => {
    expect(normalizePhone(null)).toBeNull();
    expect(normalizePhone({})).toBeNull();
  });
});

describe('OfflinePhoneClassifier', () => {
  it('is deterministic and uses only the documented statuses', () => {
    const numbers = Array.from({ length: 500 }, (_, i) => `+1415${String(2000000 + i * 37)}`);
    const first = numbers.map(classifyOffline);
    expect(numbers.map(classifyOffline)).toEqual(first);
    for (const c of first) expect(PHONE_STATUSES).toContain(c.status);
    const counts = new Map<string, number>();
    for (const c of first) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
    // the hash buckets give every status a share of a large sample
    expect(counts.size).toBe(4);
    expect(counts.get('Likely Answer')!).toBeGreaterThan(150);
  });
});

describe('spreadsheetSafe', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+14152345678', "'+14152345678"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['plain', 'plain'],
    ['', ''],
  ])('%j → %j', (input, out) => expect(spreadsheetSafe(input)).toBe(out));
});

describe('normalizePhone prefix cache', () => {
  it('agrees with a full libphonenumber parse for many numbers sharing prefixes', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parsePhoneNumberFromString } = require('libphonenumber-js/max');
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      const npa = 200 + rnd(800);
      const nxx = 200 + rnd(800);
      for (const line of [rnd(10000), rnd(10000)]) {
        const digits = `${npa}${nxx}${String(line).padStart(4, '0')}`;
        const full = parsePhoneNumberFromString(`+1${digits}`);
        const expectValid =
          nxx !== 555 && !!full?.isValid() && ['US', 'CA'].includes(full.country) && !['TOLL_FREE', 'PREMIUM_RATE', 'SHARED_COST', 'UAN', 'VOICEMAIL', 'PERSONAL_NUMBER', 'PAGER'].includes(full.getType());
        const got = normalizePhone(digits);
        expect({ digits, valid: got !== null }).toEqual({ digits, valid: expectValid });
        if (got) {
          valid++;
          expect(got.type).toBe(full.getType());
        }
      }
    }
    expect(valid).toBeGreaterThan(1000);
  });
});
