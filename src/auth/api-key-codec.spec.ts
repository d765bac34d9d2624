import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey, isWellFormedApiKey } from './api-key-codec';

describe('API key codec (SPEC §3.2)', () => {
  it('mints od_live_ + 32 URL-safe base64 characters, a 12-character prefix and the SHA-256 hex of the key', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^od_live_[A-Za-z0-9_-]{32}$/);
    expect(prefix).toBe(key.slice(0, 12));
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  it('never repeats (CSPRNG, 192 bits)', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateApiKey().key));
    expect(keys.size).toBe(2000);
  });

  it.each(['', 'od_live_', 'od_test_' + 'a'.repeat(32), 'od_live_' + 'a'.repeat(31), 'od_live_' + 'a'.repeat(33), 'od_live_' + 'a'.repeat(31) + '+'])(
    'rejects the malformed key %j',
    (k) => expect(isWellFormedApiKey(k)).toBe(false),
  );

  it('hashes deterministically', () => {
    expect(hashApiKey('od_live_x')).toBe(hashApiKey('od_live_x'));
    expect(hashApiKey('od_live_x')).not.toBe(hashApiKey('od_live_y'));
  });
});
