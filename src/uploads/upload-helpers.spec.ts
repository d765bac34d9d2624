import { contentDisposition } from './files.controller';
import { parseUploadWebhook } from './upload-webhook';
import { humanError } from '../common/human-error';

describe('parseUploadWebhook (SPEC §7.1)', () => {
  it('accepts a url alone (delay 0), delay 1 and 604800, secrets of 16 and 128 characters, and a JSON string', () => {
    expect(parseUploadWebhook({ url: 'https://h.example/x' })).toEqual({ url: 'https://h.example/x', delay: 0, secret: null });
    expect(parseUploadWebhook({ url: 'https://h.example/x', delay: 1, secret: 's'.repeat(16) })).toEqual({ url: 'https://h.example/x', delay: 1, secret: 's'.repeat(16) });
    expect(parseUploadWebhook({ url: 'https://h.example/x', delay: 604800, secret: 's'.repeat(128) }).delay).toBe(604800);
    expect(parseUploadWebhook('{"url":"https://h.example/x","delay":60}')).toMatchObject({ delay: 60 });
  });

  it.each([
    ['delay 0', { url: 'https://h.example/x', delay: 0 }],
    ['delay -1', { url: 'https://h.example/x', delay: -1 }],
    ['delay 604801', { url: 'https://h.example/x', delay: 604801 }],
    ['delay "60"', { url: 'https://h.example/x', delay: '60' }],
    ['delay 1.5', { url: 'https://h.example/x', delay: 1.5 }],
    ['a 15-character secret', { url: 'https://h.example/x', secret: 's'.repeat(15) }],
    ['a 129-character secret', { url: 'https://h.example/x', secret: 's'.repeat(129) }],
    ['a numeric secret', { url: 'https://h.example/x', secret: 1234567890123456 }],
    ['no url', { delay: 5 }],
    ['an unknown key', { url: 'https://h.example/x', retries: 1 }],
    ['an array', [{ url: 'https://h.example/x' }]],
    ['malformed JSON', '{"url":'],
  ])('rejects %s with 400', (_n, raw) => {
    expect(() => parseUploadWebhook(raw)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('humanError', () => {
  it('never shows a server path, a system error code or a stack', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/srv/data/files/originals/x.csv'"), { code: 'ENOENT', syscall: 'open' });
    expect(humanError(enoent)).toBe('Processing failed: the uploaded file is no longer available in storage. Please upload the list again.');
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/srv/data/x'"), { code: 'EACCES', syscall: 'open' });
    expect(humanError(eacces)).toMatch(/^Processing failed: the file storage could not be read or written/);
    const other = new Error('lookup failed for /var/lib/app/cache/db.json\n    at Foo (/srv/app.js:1:1)');
    expect(humanError(other)).toBe('Processing failed: lookup failed for <path>');
    expect(humanError(new TypeError('bad thing'))).toBe('Processing failed: bad thing');
    expect(humanError('plain string')).toBe('Processing failed: plain string');
    expect(humanError(new Error(''))).toBe('Processing failed: an unexpected error occurred');
  });
});

describe('contentDisposition', () => {
  it('ASCII fallback plus the exact UTF-8 name', () => {
    expect(contentDisposition('leads.csv')).toBe(`attachment; filename="leads.csv"; filename*=UTF-8''leads.csv`);
    const cd = contentDisposition('客户 "q" (1)\r\n.csv');
    expect(cd).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/);
    expect(decodeURIComponent(cd.split("''")[1])).toBe('客户 "q" (1)\r\n.csv');
  });
});

describe('nanpDigits', () => {
  const { nanpDigits, normalizePhone } = jest.requireActual('./phone/phone-normalizer') as typeof import('./phone/phone-normalizer');
  it.each(['+14152345678', '14152345678', '4152345678', '(415) 234-5678', '415.234.5678', '+1 415-234-5678', ' 416 234 5678 ', '4150234567', '8002345678', '2125550123', '+44 20 7946 0958', 'abc', ''])(
    'agrees with normalizePhone on %j: a valid number is always +1 and its candidate digits',
    (raw) => {
      const n = normalizePhone(raw);
      if (n) expect(n.e164).toBe(`+1${nanpDigits(raw)}`);
      if (!nanpDigits(raw)) expect(n).toBeNull();
    },
  );
});
