import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();
export const newEventId = (): string => `evt_${randomBytes(12).toString('hex')}`;

/**
 * A time-ordered UUID (version 7, RFC 9562: 48 bits of Unix milliseconds, then random bits) for rows that no API
 * ever shows, such as delivery attempts. Resource ids stay UUID v4 (SPEC §1). An id that grows with time is
 * appended at the end of its primary-key index instead of landing on a random page of it: on the delivery hot path
 * that is one random index page fewer per recorded attempt.
 */
export function newTimeOrderedId(nowMs: number = Date.now()): string {
  // A v4 UUID from Node's pooled entropy (no randomBytes() call per id) keeps its variant and random bits; its first
  // 48 bits become the milliseconds and its version nibble a 7.
  const random = randomUUID();
  const t = (Math.max(0, Math.floor(nowMs)) % 2 ** 48).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${random.slice(15)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
