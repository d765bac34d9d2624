import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'od-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const key = 'ab'.repeat(32);

  it('applies the documented defaults', () => {
    const c = loadConfig({ DATA_DIR: dir, SECRETS_ENCRYPTION_KEY: key });
    expect(c.port).toBe(3000);
    expect(c.databaseType).toBe('better-sqlite3');
    expect(c.sqlitePath).toBe(join(dir, 'optimaldial.sqlite'));
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
    expect(c.webhookAllowHttp).toBe(false);
    expect(c.webhookAllowedCidrs).toEqual([]);
    expect(c.delivery.processorEnabled).toBe(true);
    expect(c.rateLimit).toMatchObject({ perKeyPerMinute: 60, perOrganizationPerMinute: 600 });
    expect(c.logLevel).toBe('info');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['PUBLIC_BASE_URL', 'not a url'],
    ['SECRETS_ENCRYPTION_KEY', 'tooshort'],
    ['LOG_LEVEL', 'loud'],
    ['WEBHOOK_ALLOW_HTTP', 'maybe'],
    ['WEBHOOK_ALLOWED_CIDRS', '10.0.0.0'],
    ['DELIVERY_PROCESSOR_ENABLED', '2'],
    ['RATE_LIMIT_PER_KEY', '0'],
  ])('a bad %s stops the service with a message naming it', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: dir, SECRETS_ENCRYPTION_KEY: key, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, SECRETS_ENCRYPTION_KEY: key, [name]: value })).toThrow(name);
  });

  it('requires SECRETS_ENCRYPTION_KEY in production', () => {
    expect(() => loadConfig({ DATA_DIR: dir, NODE_ENV: 'production' })).toThrow('SECRETS_ENCRYPTION_KEY is required');
  });

  it('generates a development key once into DATA_DIR and reuses it', () => {
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.secretsKeyGenerated).toBe(true);
    expect(readFileSync(join(dir, 'secrets.key'), 'utf8').trim()).toBe(first.secretsEncryptionKey.toString('hex'));
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.secretsKeyGenerated).toBe(false);
    expect(second.secretsEncryptionKey.equals(first.secretsEncryptionKey)).toBe(true);
  });

  it('switches to PostgreSQL on a postgres:// URL', () => {
    expect(loadConfig({ DATA_DIR: dir, SECRETS_ENCRYPTION_KEY: key, DATABASE_URL: 'postgres://u@h/db' }).databaseType).toBe('postgres');
  });
});
