import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();
export const newEventId = (): string => `evt_${randomBytes(12).toString('hex')}`;

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
