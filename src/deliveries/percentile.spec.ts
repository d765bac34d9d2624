import { percentile } from './deliveries.service';

describe('percentile (nearest rank over a duration histogram)', () => {
  it('is null without values', () => {
    expect(percentile([], 0.5)).toBeNull();
  });

  it('picks the smallest value whose cumulative count reaches ceil(p × n)', () => {
    // 10 values: 1×10, 4×20, 4×30, 1×900
    const h = [
      { ms: 10, n: 1 },
      { ms: 20, n: 4 },
      { ms: 30, n: 4 },
      { ms: 900, n: 1 },
    ];
    expect(percentile(h, 0.5)).toBe(20); // rank 5
    expect(percentile(h, 0.95)).toBe(900); // rank 10
    expect(percentile(h, 0.9)).toBe(30); // rank 9
    expect(percentile(h, 0.01)).toBe(10); // rank 1
  });

  it('one value is every percentile', () => {
    expect(percentile([{ ms: 42, n: 1 }], 0.5)).toBe(42);
    expect(percentile([{ ms: 42, n: 1 }], 0.95)).toBe(42);
  });
});
