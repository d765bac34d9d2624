import { MAX_ATTEMPTS, nextAttemptAt, parseRetryAfter, RETRY_DELAYS_MS } from './retry-schedule';

const now = Date.UTC(2026, 10, 28, 12, 0, 0);
const mid = () => 0.5; // no jitter

describe('retry schedule (SPEC §6.5)', () => {
  it.each([
    [1, 60_000],
    [2, 300_000],
    [3, 1_800_000],
    [4, 7_200_000],
    [5, 43_200_000],
  ])('after failed attempt %i waits %i ms', (attempt, delay) => {
    expect(nextAttemptAt({ failedAttempt: attempt, nowMs: now, status: 500, random: mid })).toBe(now + delay);
  });

  it('exhausts after the 6th attempt', () => {
    expect(MAX_ATTEMPTS).toBe(6);
    expect(nextAttemptAt({ failedAttempt: 6, nowMs: now, status: 500 })).toBeNull();
  });

  it('after a manual retry the numbering keeps counting and the schedule restarts: up to six more attempts (SPEC §5.8)', () => {
    // one automatic failure, then a manual retry: attempt 2 is the first of the new schedule
    expect(nextAttemptAt({ failedAttempt: 2, scheduleStartedAfter: 1, nowMs: now, status: 500, random: mid })).toBe(now + 60_000);
    // exhausted after the 6th, then retried by hand: attempts 7..11 follow the schedule from its first step
    for (const [attempt, delay] of [[7, 60_000], [8, 300_000], [9, 1_800_000], [10, 7_200_000], [11, 43_200_000]]) {
      expect(nextAttemptAt({ failedAttempt: attempt, scheduleStartedAfter: 6, nowMs: now, status: 500, random: mid })).toBe(now + delay);
    }
    expect(nextAttemptAt({ failedAttempt: 12, scheduleStartedAfter: 6, nowMs: now, status: 500 })).toBeNull();
    // a start at or beyond the failed attempt cannot make a step below 1
    expect(nextAttemptAt({ failedAttempt: 3, scheduleStartedAfter: 9, nowMs: now, status: 500, random: mid })).toBe(now + 60_000);
  });

  it('jitters by at most ±10 %', () => {
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: null, random: () => 0 })).toBe(now + 54_000);
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: null, random: () => 0.999999 })).toBe(now + 66_000);
    for (let i = 0; i < 200; i++) {
      const d = nextAttemptAt({ failedAttempt: 3, nowMs: now, status: 502 })! - now;
      expect(d).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[2] * 0.9);
      expect(d).toBeLessThanOrEqual(RETRY_DELAYS_MS[2] * 1.1);
    }
  });

  it('honours Retry-After on 429/503 in seconds and as an HTTP date, only to push later, capped at 24 h', () => {
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: 429, retryAfter: '600', random: mid })).toBe(now + 600_000);
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: 503, retryAfter: new Date(now + 3600_000).toUTCString(), random: mid })).toBe(now + 3600_000);
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: 429, retryAfter: '5', random: mid })).toBe(now + 60_000);
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: 429, retryAfter: String(7 * 86400), random: mid })).toBe(now + 86_400_000);
    expect(nextAttemptAt({ failedAttempt: 1, nowMs: now, status: 500, retryAfter: '600', random: mid })).toBe(now + 60_000);
  });

  it('ignores unparsable Retry-After', () => {
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('120', now)).toBe(120_000);
  });
});
