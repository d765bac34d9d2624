import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createTestApp, freshPostgres, TestApp } from '../support/test-app';

const run = promisify(execFile);

/**
 * The admin CLI as a user runs it (`npm run cli -- …`), against the database a running service uses: it must print
 * exactly one JSON object on stdout and fail loudly on bad input.
 */
// each invocation boots Node, ts-node and Nest (a few seconds, more on a loaded machine)
jest.setTimeout(300_000);

describe('admin CLI', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let pg: Awaited<ReturnType<typeof freshPostgres>> = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'od-cli-'));
    env = { ...process.env, DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn', DATABASE_URL: '' };
    pg = await freshPostgres();
    if (pg) env.DATABASE_URL = pg.url;
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  });

  async function cli(...args: string[]): Promise<{ code: number; json: any; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run('npm', ['run', 'cli', '--', ...args], { env, cwd: join(__dirname, '../..') });
      return { code: 0, json: JSON.parse(stdout), stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, json: null, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it('creates an organization, mints, lists and revokes keys, adds credits, removes a user; the service accepts the key', async () => {
    const created = await cli('org:create', '--name', 'Acme', '--owner-email', 'owner@acme.test', '--credits', '100');
    expect(created.code).toBe(0);
    expect(created.json.api_key).toMatch(/^od_live_[A-Za-z0-9_-]{32}$/);
    expect(created.json.organization).toMatchObject({ name: 'Acme', credits_balance: 100, subscription_status: 'active' });
    const orgId = created.json.organization.id;
    const ownerId = created.json.user.id;

    const minted = await cli('key:create', '--org', orgId, '--user', ownerId, '--name', 'ci', '--scopes', 'uploads:read');
    expect(minted.code).toBe(0);
    expect(minted.json.key).toMatchObject({ name: 'ci', scopes: ['uploads:read'], prefix: minted.json.api_key.slice(0, 12) });

    const list = await cli('key:list', '--org', orgId);
    expect(list.json.keys).toHaveLength(2);
    expect(list.stdout).not.toContain(created.json.api_key);

    const credits = await cli('credits:add', '--org', orgId, '--amount', '50');
    expect(credits.json.organization.credits_balance).toBe(150);

    const member = await cli('user:add', '--org', orgId, '--email', 'member@acme.test', '--role', 'owner');
    const memberKey = await cli('key:create', '--org', orgId, '--user', member.json.user.id);
    const removed = await cli('user:remove', '--id', member.json.user.id);
    expect(removed.json.revoked_keys).toBe(1);

    const revoked = await cli('key:revoke', '--id', minted.json.key.id);
    expect(revoked.json.key.revoked_at).not.toBeNull();

    // the service on the same database sees all of it
    const t: TestApp = await createTestApp({ env: { DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: env.SECRETS_ENCRYPTION_KEY!, ...(pg ? { DATABASE_URL: pg.url } : {}) } });
    try {
      const me = await t.http.get('/api/v1/me').set('Authorization', `Bearer ${created.json.api_key}`).expect(200);
      expect(me.body.organization.credits_balance).toBe(150);
      await t.http.get('/api/v1/me').set('Authorization', `Bearer ${minted.json.api_key}`).expect(401);
      await t.http.get('/api/v1/me').set('Authorization', `Bearer ${memberKey.json.api_key}`).expect(401);
    } finally {
      await t.close();
    }
  });

  it.each([
    [['org:create', '--name', 'X'], /--owner-email is required/],
    [['org:create', '--name', 'X', '--owner-email', 'not-an-email'], /email/i],
    [['credits:add', '--org', '00000000-0000-4000-8000-000000000000', '--amount', 'ten'], /--amount must be an integer/],
    [['key:create', '--org', '00000000-0000-4000-8000-000000000000', '--user', '00000000-0000-4000-8000-000000000000', '--scopes', 'admin'], /no organization/i],
    [['nope'], /unknown command/],
  ])('exits non-zero with a message and nothing on stdout for %j', async (args, message) => {
    const r = await cli(...(args as string[]));
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
