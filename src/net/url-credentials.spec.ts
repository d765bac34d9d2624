import { AppConfig } from '../config/app-config';
import { SecretCipher } from '../crypto/secret-cipher';
import { openUrl, sealUrl, sendingTarget } from './url-credentials';

const cipher = new SecretCipher({ secretsEncryptionKey: Buffer.alloc(32, 7) } as AppConfig);
const enc = (s: string) => cipher.encrypt(s);
const dec = (s: string) => cipher.decrypt(s);

describe('URL credentials at rest', () => {
  it.each([
    ['https://user:pa%20ss@hooks.example.com:8443/in?x=1&y=2', 'https://***:***@hooks.example.com:8443/in?x=1&y=2', 'Basic ' + Buffer.from('user:pa ss').toString('base64')],
    ['https://only-user@hooks.example.com/in', 'https://***@hooks.example.com/in', 'Basic ' + Buffer.from('only-user:').toString('base64')],
    ['https://:secret@hooks.example.com/', 'https://:***@hooks.example.com/', 'Basic ' + Buffer.from(':secret').toString('base64')],
    ['https://us%3Aer:p%40ss%3Aword@hooks.example.com/', 'https://***:***@hooks.example.com/', 'Basic ' + Buffer.from('us:er:p@ss:word').toString('base64')],
  ])('%s is stored as %s with the user info encrypted, and opens back to the same URL', (raw, masked, basic) => {
    const sealed = sealUrl(raw, enc);
    expect(sealed.url).toBe(masked);
    expect(sealed.credentialsEncrypted).toMatch(/^v1:/);
    expect(sealed.credentialsEncrypted).not.toContain('user');
    expect(openUrl(sealed.url, sealed.credentialsEncrypted, dec)).toBe(new URL(raw).toString());
    const target = sendingTarget(sealed.url, sealed.credentialsEncrypted, dec);
    expect(target.url).not.toContain('@');
    expect(target.authorization).toBe(basic);
  });

  it('a URL without user info is stored unchanged, with nothing to encrypt or send as Basic auth', () => {
    const sealed = sealUrl('https://hooks.example.com/in?x=1', enc);
    expect(sealed).toEqual({ url: 'https://hooks.example.com/in?x=1', credentialsEncrypted: null });
    expect(openUrl(sealed.url, null, dec)).toBe('https://hooks.example.com/in?x=1');
    expect(sendingTarget(sealed.url, null, dec)).toEqual({ url: 'https://hooks.example.com/in?x=1', authorization: undefined });
  });

  it('a tampered ciphertext fails loudly instead of sending wrong credentials', () => {
    const sealed = sealUrl('https://u:p@hooks.example.com/', enc);
    const tampered = sealed.credentialsEncrypted!.slice(0, -4) + (sealed.credentialsEncrypted!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => openUrl(sealed.url, tampered, dec)).toThrow();
  });
});
