/**
 * The delivery engine's own guarantees (issue 12), on a real database: bulk publishing writes what one-by-one
 * publishing writes, a signing secret that no longer decrypts fails on the schedule instead of looping, per-request
 * targets are bounded per origin like endpoints, and a late result after a lease expiry is not counted twice.
 */
import { DatabaseService } from '../../src/database/database.service';
import { DeliveriesRepository } from '../../src/deliveries/deliveries.repository';
import { endpointBookkeeping } from '../../src/deliveries/endpoint-bookkeeping';
import { EventsService } from '../../src/deliveries/events.service';
import { MAX_ATTEMPTS } from '../../src/deliveries/retry-schedule';
import { WebhooksService } from '../../src/webhooks/webhooks.service';
import { waitFor } from '../support/poll';
import { LOCAL_DELIVERY_ENV } from '../support/receiver';
import { createTestApp, TestApp } from '../support/test-app';
import { DeliveryHarness, holdingResponder, HOUR } from './deliveries.helpers';

const PER_ENDPOINT = 2;

describe('delivery engine (issue 12)', () => {
  let t: TestApp;
  let h: DeliveryHarness;
  let db: DatabaseService;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, DELIVERY_PER_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT), DELIVERY_LEASE_MS: '60000' } });
    h = new DeliveryHarness(t);
    db = t.get(DatabaseService);
  });
  afterEach(() => h.cleanup());
  afterAll(() => t.close());

  const corruptSecret = (endpointId: string) => {
    // a ciphertext of the right shape whose auth tag cannot verify (as after a SECRETS_ENCRYPTION_KEY change)
    return db.transaction((m) => db.execute(m, db.sql`UPDATE webhook_endpoints SET secret_encrypted = ${`v1:${Buffer.alloc(60, 7).toString('base64')}`} WHERE id = ${endpointId}`));
  };

  it('publishMany writes the same events and deliveries as publish, in one transaction, and delivers them', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const a = await h.endpoint(org, r, '/a', { events: ['upload.completed'] });
    const b = await h.endpoint(org, r, '/b', { events: ['upload.completed', 'upload.failed'] });
    const events = await db.transaction((m) =>
      t.get(EventsService).publishMany(m, org.organizationId, [
        { type: 'upload.completed', data: { upload: { id: 'bulk-1' } } },
        { type: 'upload.failed', data: { upload: { id: 'bulk-2' } }, options: { uploadId: 'bulk-2' } },
        { type: 'upload.completed', data: { upload: { id: 'bulk-3' } } },
      ]),
    );
    expect(events.map((e) => e.type)).toEqual(['upload.completed', 'upload.failed', 'upload.completed']);
    expect((await h.deliveriesOf(a)).map((d) => d.event_id).sort()).toEqual([events[0].id, events[2].id].sort());
    expect((await h.deliveriesOf(b)).map((d) => d.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    await h.drain();
    expect(r.requests).toHaveLength(5);
    const failed = r.requests.find((q) => q.headers['x-optimaldial-event'] === 'upload.failed')!;
    expect(JSON.parse(failed.body.toString())).toMatchObject({ id: events[1].id, type: 'upload.failed', data: { upload: { id: 'bulk-2' } } });
    const d = await h.delivery(org, (await h.deliveryFor(b, events[1].id)).id);
    expect(d).toMatchObject({ status: 'delivered', upload_id: 'bulk-2' });
  });

  it('publishMany rolls back with its transaction', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const e = await h.endpoint(org, r);
    await expect(
      db.transaction(async (m) => {
        await t.get(EventsService).publishMany(m, org.organizationId, [{ type: 'upload.completed', data: { upload: { id: 'rb' } } }]);
        throw new Error('host rolled back');
      }),
    ).rejects.toThrow('host rolled back');
    expect(await h.deliveriesOf(e)).toEqual([]);
  });

  it('a signing secret that no longer decrypts fails each attempt without sending, then exhausts (not re-claimed forever)', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const e = await h.endpoint(org, r);
    await corruptSecret(e.id);
    const ev = await h.publish(org.organizationId);
    const { id } = await h.deliveryFor(e, ev.id);
    await h.drain();
    let d = await h.delivery(org, id);
    expect(d).toMatchObject({ status: 'pending', attempt_count: 1, last_error: 'signing secret unavailable' });
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ attempt_number: 1, response_status: null, error_message: 'signing secret unavailable' });
    for (let i = 2; i <= MAX_ATTEMPTS; i++) {
      // past the longest step with its jitter (12 h + 10 % = 13.2 h): 13 h left the last attempt not yet due at times
      t.clock.advance(14 * HOUR);
      await h.drain();
    }
    d = await h.delivery(org, id);
    expect(d).toMatchObject({ status: 'exhausted', attempt_count: MAX_ATTEMPTS, last_error: 'signing secret unavailable' });
    expect(d.attempts).toHaveLength(MAX_ATTEMPTS);
    expect(r.requests).toHaveLength(0);
  });

  it('per-request targets on one origin share the per-endpoint bound; another origin has its own', async () => {
    const org = await t.createOrganization();
    const slow = await h.receiver();
    const other = await h.receiver();
    const holding = holdingResponder();
    slow.respond = holding.respond;
    for (let i = 0; i < 5; i++) await h.publish(org.organizationId, 'upload.completed', { upload: { id: `pr-${i}` } }, { requestTarget: { url: `${slow.url}/n/${i}`, delaySeconds: 0 } });
    await h.publish(org.organizationId, 'upload.completed', { upload: { id: 'pr-other' } }, { requestTarget: { url: `${other.url}/n`, delaySeconds: 0 } });
    const draining = h.drain();
    await waitFor(() => holding.held.length === PER_ENDPOINT && other.requests.length === 1, 10_000, 'two held, the other delivered', 10);
    // the claim itself holds the bound: nothing more for that origin is claimable while two are in flight
    const more = await t.get(DeliveriesRepository).claimDue({ now: t.clock.nowMs(), limit: 100, leaseMs: 60_000, token: 'probe:1', perEndpoint: PER_ENDPOINT });
    expect(more).toEqual([]);
    const counts = await db.rows(null, db.sql`SELECT status, COUNT(*) AS n FROM deliveries WHERE target_url LIKE ${`${slow.url}/%`} GROUP BY status`);
    const byStatus = Object.fromEntries(counts.map((x) => [x.status, Number(x.n)]));
    expect(byStatus).toEqual({ in_flight: PER_ENDPOINT, pending: 5 - PER_ENDPOINT });
    holding.release();
    await waitFor(() => (slow.requests.length === 5 && holding.held.length === 0) || (holding.release(), false), 10_000, 'the slow origin drained', 10);
    await draining;
    expect(holding.maxConcurrent()).toBe(PER_ENDPOINT);
    expect(other.requests).toHaveLength(1);
  });

  it("a late result after a lease expiry changes neither the delivery nor the endpoint's streak", async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const e = await h.endpoint(org, r);
    const ev = await h.publish(org.organizationId);
    const { id } = await h.deliveryFor(e, ev.id);
    const repo = t.get(DeliveriesRepository);
    const dead = await repo.claimDue({ now: t.clock.nowMs(), limit: 10, leaseMs: 60_000, token: 'dead:1', perEndpoint: 10 });
    expect(dead.map((c) => [c.id, c.token])).toEqual([[id, 'dead:1']]);
    t.clock.advance(61_000);
    await h.drain(); // releases the expired lease and delivers it under a new claim
    expect(await h.delivery(org, id)).toMatchObject({ status: 'delivered' });
    const before = await h.endpointState(e);
    // the dead worker's failure arrives now, through the processor's own flush path
    const now = t.clock.now();
    const late = {
      deliveryId: id,
      claimToken: 'dead:1',
      status: 'pending' as const,
      nextRetryAt: new Date(now.getTime() + HOUR),
      endpointId: e.id,
      gone: true,
      attempt: { id: '0f0e0d0c-0b0a-4909-8807-060504030201', deliveryId: id, attemptNumber: 1, startedAt: now, finishedAt: now, durationMs: 1, responseStatus: 410, errorClass: 'http_status' as const, errorMessage: 'HTTP 410', responseBody: null },
    };
    await db.transaction(async (m) => {
      const applied = await repo.recordOutcomes(m, [late], now);
      await t.get(WebhooksService).recordResults(m, endpointBookkeeping([late], applied), now);
    });
    const after = await h.endpointState(e);
    expect(after).toMatchObject({ is_active: true, consecutive_failures: before.consecutive_failures, disabled_at: null });
    expect(await h.delivery(org, id)).toMatchObject({ status: 'delivered' });
  });

  it('records the bookkeeping of every endpoint in a batch at once: reset, streak, threshold and 410 side by side', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const [ok, failing, atThreshold, gone] = await Promise.all(['/ok', '/failing', '/threshold', '/gone'].map((p) => h.endpoint(org, r, p)));
    const now = t.clock.now();
    const at = (ms: number) => new Date(now.getTime() - ms);
    await db.transaction((m) =>
      t.get(WebhooksService).recordResults(
        m,
        [
          { endpointId: failing.id, anySuccess: false, failuresAfterLastSuccess: 3, lastSuccessAt: null, lastFailureAt: at(3000), gone: false },
          { endpointId: atThreshold.id, anySuccess: false, failuresAfterLastSuccess: 19, lastSuccessAt: null, lastFailureAt: at(3000), gone: false },
        ],
        at(3000),
      ),
    );
    const disabled = await db.transaction((m) =>
      t.get(WebhooksService).recordResults(
        m,
        [
          { endpointId: ok.id, anySuccess: true, failuresAfterLastSuccess: 0, lastSuccessAt: at(1000), lastFailureAt: null, gone: false },
          { endpointId: failing.id, anySuccess: true, failuresAfterLastSuccess: 2, lastSuccessAt: at(2000), lastFailureAt: at(1000), gone: false },
          { endpointId: atThreshold.id, anySuccess: false, failuresAfterLastSuccess: 1, lastSuccessAt: null, lastFailureAt: at(1000), gone: false },
          { endpointId: gone.id, anySuccess: false, failuresAfterLastSuccess: 1, lastSuccessAt: null, lastFailureAt: at(1000), gone: true },
        ],
        now,
      ),
    );
    expect([...disabled].sort()).toEqual([atThreshold.id, gone.id].sort());
    const [sOk, sFailing, sThreshold, sGone] = await Promise.all([ok, failing, atThreshold, gone].map((e) => h.endpointState(e)));
    expect(sOk).toMatchObject({ is_active: true, consecutive_failures: 0, last_success_at: at(1000).toISOString() });
    expect(sFailing).toMatchObject({ is_active: true, consecutive_failures: 2, last_success_at: at(2000).toISOString(), last_failure_at: at(1000).toISOString() });
    expect(sThreshold).toMatchObject({ is_active: false, consecutive_failures: 20, disabled_at: now.toISOString() });
    expect(sGone).toMatchObject({ is_active: false, consecutive_failures: 1, disabled_at: now.toISOString() });
  });

  // PostgreSQL only (SQLite keeps no dead row versions): migration 1732300018000.
  (process.env.TEST_DATABASE_URL ? it : it.skip)('PostgreSQL vacuums and analyzes the queue tables at 2 % dead rows, not the default 20 %', async () => {
    const rows: Array<{ relname: string; reloptions: string[] }> = await db.dataSource.query(
      "SELECT relname, reloptions FROM pg_class WHERE relname IN ('deliveries', 'contacts') AND relkind = 'r' ORDER BY relname",
    );
    expect(rows.map((r) => [r.relname, [...r.reloptions].sort()])).toEqual(
      ['contacts', 'deliveries'].map((t) => [t, ['autovacuum_analyze_scale_factor=0.02', 'autovacuum_vacuum_scale_factor=0.02']]),
    );
  });

  // Migration 1732300019000: on PostgreSQL the key check was a row lock on the delivery for every recorded attempt.
  it('checks an attempt against its delivery with a foreign key on SQLite only; the lookup index stays on both', async () => {
    const qr = db.dataSource.createQueryRunner();
    try {
      const table = (await qr.getTable('delivery_attempts'))!;
      const toDeliveries = table.foreignKeys.filter((k) => k.referencedTableName === 'deliveries').map((k) => [k.columnNames, k.onDelete]);
      expect(toDeliveries).toEqual(db.isPostgres ? [] : [[['delivery_id'], 'CASCADE']]);
      expect(table.indices.map((i) => i.columnNames)).toContainEqual(['delivery_id', 'attempt_number']);
    } finally {
      await qr.release();
    }
  });
});
