import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'od_live_';
const KEY_RE = /^od_live_[A-Za-z0-9_-]{32}$/;

export interface GeneratedKey {
  key: string;
  prefix: string;
  hash: string;
}

/** `od_live_` + 32 URL-safe base64 characters = 24 random bytes = 192 bits from the CSPRNG. */
export function generateApiKey(): GeneratedKey {
  const key = API_KEY_PREFIX + randomBytes(24).toString('base64url');
  return { key, prefix: key.slice(0, 12), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function isWellFormedApiKey(value: string): boolean {
  return KEY_RE.test(value);
}
