import { newId, newTimeOrderedId, UUID_RE } from './ids';

describe('ids', () => {
  it('resource ids are UUID v4 (SPEC §1)', () => {
    expect(newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it.each([
    ['the epoch', 0, '00000000-0000-7'],
    ['2026-12-02T00:00:00Z', Date.UTC(2026, 11, 2), `${Date.UTC(2026, 11, 2).toString(16).padStart(12, '0').slice(0, 8)}-${Date.UTC(2026, 11, 2).toString(16).padStart(12, '0').slice(8)}-7`],
    ['the last millisecond of 48 bits', 2 ** 48 - 1, 'ffffffff-ffff-7'],
  ])('a time-ordered id at %s is a UUID v7 with the milliseconds first', (_, ms, prefix) => {
    const id = newTimeOrderedId(ms);
    expect(id).toMatch(UUID_RE);
    expect(id.startsWith(prefix)).toBe(true);
    expect(id[19]).toMatch(/[89ab]/);
  });

  it('time-ordered ids sort by their millisecond, and differ within one', () => {
    const ids = [1, 2, 1000, 1_700_000_000_000, 1_700_000_000_001].map((ms) => newTimeOrderedId(ms));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 1000 }, () => newTimeOrderedId(5)));
    expect(same.size).toBe(1000);
  });
});
