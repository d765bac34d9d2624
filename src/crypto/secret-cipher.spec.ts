import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { SecretCipher } from './secret-cipher';

const cipherWith = (key: Buffer) => new SecretCipher({ secretsEncryptionKey: key } as AppConfig);

describe('SecretCipher', () => {
  const key = randomBytes(32);
  const secret = 'a'.repeat(64);

  it('round-trips and never stores the plaintext', () => {
    const c = cipherWith(key);
    const stored = c.encrypt(secret);
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toContain(secret);
    expect(Buffer.from(stored.slice(3), 'base64').includes(Buffer.from(secret))).toBe(false);
    expect(c.decrypt(stored)).toBe(secret);
  });

  it('uses a fresh IV per encryption', () => {
    const c = cipherWith(key);
    expect(c.encrypt(secret)).not.toBe(c.encrypt(secret));
  });

  it('rejects a tampered ciphertext and a different key', () => {
    const stored = cipherWith(key).encrypt(secret);
    const raw = Buffer.from(stored.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipherWith(key).decrypt(`v1:${raw.toString('base64')}`)).toThrow();
    expect(() => cipherWith(randomBytes(32)).decrypt(stored)).toThrow();
  });
});
