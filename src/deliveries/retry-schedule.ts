/** SPEC §6.5: delays after the 1st..5th failed attempt; the 6th failure exhausts the delivery. */
export const RETRY_DELAYS_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 12 * 3600_000] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
export const JITTER_FRACTION = 0.1;
export const RETRY_AFTER_CAP_MS = 24 * 3600_000;

/** `Retry-After` as delta-seconds or an HTTP date, in ms from now; null when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

export interface RetryInput {
  /** 1-based number of the attempt that just failed. */
  failedAttempt: number;
  /**
   * Attempts made before the current schedule started: 0, or the attempt count at the last manual retry or
   * recover (SPEC §5.8: numbering keeps counting, the schedule restarts, a retry buys up to six more attempts).
   */
  scheduleStartedAfter?: number;
  nowMs: number;
  status: number | null;
  retryAfter?: string | null;
  /** Injectable for tests; a number in [0, 1). */
  random?: () => number;
}

/**
 * When to try again after a failed attempt, or null when the delivery is exhausted. The scheduled delay gets up
 * to ±10 % jitter; a Retry-After on 429/503 can only push the next attempt later, never beyond 24 h.
 */
export function nextAttemptAt(input: RetryInput): number | null {
  const step = input.failedAttempt - Math.max(0, Math.min(input.scheduleStartedAfter ?? 0, input.failedAttempt - 1));
  if (step >= MAX_ATTEMPTS) return null;
  const base = RETRY_DELAYS_MS[step - 1];
  const jitter = ((input.random ?? Math.random)() * 2 - 1) * JITTER_FRACTION;
  let delay = Math.round(base * (1 + jitter));
  if (input.status === 429 || input.status === 503) {
    const asked = parseRetryAfter(input.retryAfter, input.nowMs);
    if (asked !== null) delay = Math.max(delay, Math.min(asked, RETRY_AFTER_CAP_MS));
  }
  return input.nowMs + delay;
}
