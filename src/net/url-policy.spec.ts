import { basicAuthHeader, stripCredentials, validateWebhookUrl, UrlVerdict } from './url-policy';

const strict = { allowHttp: false };
const dev = { allowHttp: true };

function okUrl(v: UrlVerdict): string {
  if (!v.ok) throw new Error(`expected ok, got ${v.reason}: ${v.message}`);
  return v.url.href;
}

function reason(v: UrlVerdict): string {
  return v.ok ? 'ok' : v.reason;
}

describe('validateWebhookUrl', () => {
  it('accepts an https URL with query and user info', () => {
    expect(okUrl(validateWebhookUrl('https://user:pa%20ss@hooks.example.com:8443/in?x=1&y=2', strict))).toBe(
      'https://user:pa%20ss@hooks.example.com:8443/in?x=1&y=2',
    );
  });

  it('requires https unless http is allowed', () => {
    expect(reason(validateWebhookUrl('http://hooks.example.com/', strict))).toBe('not_https');
    expect(okUrl(validateWebhookUrl('http://hooks.example.com/', dev))).toBe('http://hooks.example.com/');
    expect(reason(validateWebhookUrl('HTTPS://hooks.example.com/', strict))).toBe('ok');
  });

  it.each(['ftp://hooks.example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'ws://hooks.example.com/', 'data:text/plain,hi'])(
    'rejects the scheme of %s as not_https even in development',
    (raw) => {
      expect(reason(validateWebhookUrl(raw, dev))).toBe('not_https');
    },
  );

  it('allows exactly 2048 characters and rejects 2049', () => {
    const base = 'https://hooks.example.com/';
    const at = (n: number) => base + 'a'.repeat(n - base.length);
    expect(at(2048)).toHaveLength(2048);
    expect(reason(validateWebhookUrl(at(2048), strict))).toBe('ok');
    expect(reason(validateWebhookUrl(at(2049), strict))).toBe('invalid_url');
  });

  it('applies the limit to the normalized URL too (percent-encoding can lengthen it)', () => {
    const raw = `https://hooks.example.com/${'é'.repeat(1000)}`;
    expect(raw.length).toBeLessThanOrEqual(2048);
    expect(reason(validateWebhookUrl(raw, strict))).toBe('invalid_url');
    const fits = `https://hooks.example.com/${'é'.repeat(300)}`;
    expect(okUrl(validateWebhookUrl(fits, strict))).toHaveLength('https://hooks.example.com/'.length + 300 * 6);
  });

  it('strips the fragment', () => {
    const v = validateWebhookUrl('https://hooks.example.com/in?q=1#section', strict);
    expect(okUrl(v)).toBe('https://hooks.example.com/in?q=1');
    expect(okUrl(validateWebhookUrl('https://hooks.example.com/#', strict))).toBe('https://hooks.example.com/');
  });

  it('normalizes odd IPv4 notations in the host (the address check sees the real address)', () => {
    expect(okUrl(validateWebhookUrl('https://0x7f.1/', strict))).toBe('https://127.0.0.1/');
    expect(okUrl(validateWebhookUrl('https://2130706433/', strict))).toBe('https://127.0.0.1/');
    expect(okUrl(validateWebhookUrl('https://[::ffff:127.0.0.1]/', strict))).toBe('https://[::ffff:7f00:1]/');
  });

  it.each<[unknown]>([
    [undefined],
    [null],
    [42],
    [{ href: 'https://hooks.example.com/' }],
    [''],
    ['hooks.example.com/in'],
    ['/relative/path'],
    ['https://'],
    ['https:hooks.example.com'],
    ['https:///hooks.example.com'],
    ['https:\\\\hooks.example.com'],
    ['https://hooks.example.com\\@evil.test/'],
    ['https://hooks .example.com/'],
    [' https://hooks.example.com/'],
    ['https://hooks.example.com/\n'],
    ['https://exa\tmple.com/'],
    ['https://[::1/'],
    ['https://300.1.1.1/'],
    ['https://a%zz:b@hooks.example.com/'],
  ])('rejects %j as invalid_url', (raw) => {
    expect(reason(validateWebhookUrl(raw, dev))).toBe('invalid_url');
  });
});

describe('basicAuthHeader', () => {
  it('encodes decoded user info as HTTP Basic', () => {
    const header = basicAuthHeader(new URL('https://us%40er:p%3Ass%20w@hooks.example.com/'));
    expect(header).toBe(`Basic ${Buffer.from('us@er:p:ss w').toString('base64')}`);
  });

  it('handles a user without a password', () => {
    expect(basicAuthHeader(new URL('https://token@hooks.example.com/'))).toBe(`Basic ${Buffer.from('token:').toString('base64')}`);
  });

  it('is undefined without user info', () => {
    expect(basicAuthHeader(new URL('https://hooks.example.com/'))).toBeUndefined();
  });
});

describe('stripCredentials', () => {
  it('returns a copy without user info or fragment, leaving the original intact', () => {
    const url = new URL('https://user:secret@hooks.example.com:8443/in?x=1#frag');
    const stripped = stripCredentials(url);
    expect(stripped.href).toBe('https://hooks.example.com:8443/in?x=1');
    expect(url.href).toBe('https://user:secret@hooks.example.com:8443/in?x=1#frag');
  });
});
