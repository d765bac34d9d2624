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
  const b = randomBytes(16);
  b.writeUIntBE(Math.max(0, Math.floor(nowMs)) % 2 ** 48, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
