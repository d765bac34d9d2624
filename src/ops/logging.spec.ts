import { loadConfig } from '../config/app-config';
import { prettyLogs } from './logging';
import { startBanner } from './start-banner';

describe('log format', () => {
  it.each([
    ['development', true, true],
    ['development', false, false],
    ['development', undefined, false],
    ['production', true, false],
    ['test', true, false],
  ])('NODE_ENV=%s, stdout a terminal: %s → pretty %s', (nodeEnv, tty, pretty) => {
    expect(prettyLogs(nodeEnv, tty)).toBe(pretty);
  });
});

describe('start banner', () => {
  const key = 'a'.repeat(64);

  it('says where Swagger UI is and which database, without the database password', () => {
    const config = loadConfig({ NODE_ENV: 'production', SECRETS_ENCRYPTION_KEY: key, PUBLIC_BASE_URL: 'https://api.example.com', DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/od' });
    const banner = startBanner(config);
    expect(banner.fields).toEqual({ api: 'https://api.example.com/api/v1', swagger_ui: 'https://api.example.com/docs', panel: 'https://api.example.com/panel', database: 'PostgreSQL (db.internal:5432/od)' });
    expect(banner.block).toContain('Swagger UI   https://api.example.com/docs');
    expect(`${banner.block}${banner.message}`).not.toContain('s3cret');
  });
});
