/**
 * Issue 17: on PostgreSQL, a read issued inside a transaction without that transaction's manager borrows a second
 * pooled connection; enough concurrent transactions then hold every connection while each waits for another, and
 * the whole service (health included) hangs for good. Fifty concurrent test events through a pool of five must all
 * answer, and the service must stay ready. On SQLite (one shared connection) the same flow must simply work.
 */
import { DeliveryHarness } from './deliveries.helpers';
import { createTestApp, TestApp } from '../support/test-app';

const onPostgres = !!process.env.TEST_DATABASE_URL;

describe('concurrent transactions and the connection pool (issue 17)', () => {
  let t: TestApp;
  let h: DeliveryHarness;

  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8', DB_POOL_SIZE: '5', DB_POOL_ACQUIRE_TIMEOUT_MS: '5000', RATE_LIMIT_PER_KEY: '1000', RATE_LIMIT_PER_ORGANIZATION: '1000' },
    });
    h = new DeliveryHarness(t);
  });
  afterAll(async () => {
    await h.cleanup();
    await t.close();
  });

  it('50 concurrent test events through a pool of 5 all answer, and /health/ready stays 200', async () => {
    const org = await t.createOrganization({ credits: 0 });
    const r = await h.receiver();
    const endpoint = await h.endpoint(org, r);

    const calls = Array.from({ length: 50 }, () =>
      t.http.post(`/api/v1/webhooks/${endpoint.id}/test`).set(org.auth).send({ event_type: 'upload.completed' }).timeout(20_000),
    );
    const health = t.http.get('/health/ready').timeout(20_000);
    const [results, ready] = await Promise.all([Promise.all(calls), health]);

    expect(results.map((res) => res.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((res) => res.body.delivery_id)).size).toBe(50);
    expect(ready.status).toBe(200);
    const after = await t.http.get('/health/ready').timeout(10_000);
    expect(after.status).toBe(200);
    if (onPostgres) expect(after.body.details.pool).toEqual(expect.objectContaining({ status: 'up', size: 5, waiting: expect.any(Number), idle: expect.any(Number) }));
  }, 60_000);

  (onPostgres ? it : it.skip)('an exhausted pool answers 503 in the envelope after the acquire timeout instead of hanging', async () => {
    // Hold every connection of the pool in open transactions, then ask for more.
    const { DatabaseService } = await import('../../src/database/database.service');
    const db = t.get(DatabaseService);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holders = Array.from({ length: 5 }, () => db.dataSource.transaction(async (m) => {
      await m.query('SELECT 1');
      await gate;
    }));
    try {
      const org = await t.createOrganization({ credits: 0 }).catch((e: Error) => e);
      expect(org).toBeInstanceOf(Error); // the admin path fails too, with the pool's timeout, not a hang
      const res = await t.http.get('/api/v1/me').set({ Authorization: 'Bearer od_live_' + 'a'.repeat(32) }).timeout(20_000);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ detail: { error: 'database_unavailable', message: expect.any(String) } });
      const ready = await t.http.get('/health/ready').timeout(20_000);
      expect(ready.status).toBe(503);
    } finally {
      release();
      await Promise.all(holders);
    }
    expect((await t.http.get('/health/ready').timeout(10_000)).status).toBe(200);
  }, 60_000);
});
