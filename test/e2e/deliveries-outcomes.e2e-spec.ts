/**
 * What attempt results do to deliveries and endpoints (SPEC §5.6–5.7, §6.4–6.6): 410, Retry-After, auto-disable,
 * holding and release, deletion (also while an attempt is on the wire), lease expiry after a crash, the
 * per-endpoint bound, retention.
 */
import { DatabaseService } from '../../src/database/database.service';
import { DeliveriesRepository } from '../../src/deliveries/deliveries.repository';
import { DeliveryAttempt } from '../../src/deliveries/delivery-attempt.entity';
import { RetentionService } from '../../src/deliveries/retention.service';
import { LOCAL_DELIVERY_ENV } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { DeliveryHarness, Endpoint, holdingResponder, HOUR, MIN, respondWith } from './deliveries.helpers';
import { waitFor } from '../support/poll';

const TIMEOUT_MS = 3000;
const PER_ENDPOINT = 2;

describe('delivery outcomes (SPEC §6.4–6.6)', () => {
  let t: TestApp;
  let h: DeliveryHarness;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        ...LOCAL_DELIVERY_ENV,
        DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
        DELIVERY_PER_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT),
        // small claims, so a backlog bigger than one claim's candidate window is cheap to build
        DELIVERY_BATCH_SIZE: '2',
        DELIVERY_LEASE_MS: '60000',
      },
    });
    h = new DeliveryHarness(t);
  });
  afterEach(() => h.cleanup());
  afterAll(() => t.close());

  const patch = (e: Endpoint, body: Record<string, unknown>) => t.http.patch(`/api/v1/webhooks/${e.id}`).set(e.org.auth).send(body).expect(200);
  async function publishMany(org: TestOrg, n: number, type = 'upload.completed'): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await h.publish(org.organizationId, type, { upload: { id: `u-${i}` } })).id);
    return ids;
  }

  describe('410 and Retry-After (§6.4)', () => {
    it('410 Gone disables the endpoint at once; its delivery is held, not consumed', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(410, 'gone');
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const state = await h.endpointState(e);
      expect(state).toMatchObject({ is_active: false, consecutive_failures: 1 });
      expect(state.disabled_at).not.toBeNull();
      expect(state.last_failure_at).not.toBeNull();
      const d = await h.deliveryFor(e, ev.id);
      expect(d).toMatchObject({ status: 'pending', attempt_count: 1, last_response_status: 410 });
      expect((await h.delivery(org, d.id)).attempts[0]).toMatchObject({ error_class: 'http_status', response_status: 410, response_body: 'gone' });

      await h.publish(org.organizationId);
      expect(await h.deliveriesOf(e)).toHaveLength(1); // no delivery for an inactive endpoint
      t.clock.advance(2 * HOUR);
      await h.drain();
      expect(r.requests).toHaveLength(1);
      expect((await h.deliveryFor(e, ev.id)).attempt_count).toBe(1);
    });

    const httpDate = (ms: number) => new Date(ms).toUTCString();
    it.each([
      ['429, Retry-After: 3600', 429, () => '3600', HOUR, HOUR + 1000],
      ['503, Retry-After as an HTTP date 2 h ahead', 503, (now: number) => httpDate(now + 2 * HOUR), 2 * HOUR - 2000, 2 * HOUR + 1000],
      ['429, Retry-After: 172800 is capped at 24 h', 429, () => '172800', 24 * HOUR, 24 * HOUR + 1],
      ['429, a date 3 days ahead is capped at 24 h', 429, (now: number) => httpDate(now + 72 * HOUR), 24 * HOUR, 24 * HOUR + 1],
      ['429, Retry-After shorter than the schedule: the schedule wins', 429, () => '5', 0.9 * MIN - 1, 1.1 * MIN + 1],
      ['500 ignores Retry-After', 500, () => '3600', 0.9 * MIN - 1, 1.1 * MIN + 1],
      ['429 with an unparsable Retry-After follows the schedule', 429, () => 'soon', 0.9 * MIN - 1, 1.1 * MIN + 1],
    ])('%s', async (_name, status, retryAfter, min, max) => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = (_q, res) => {
        res.writeHead(status as number, { 'retry-after': (retryAfter as (now: number) => string)(t.clock.nowMs()) });
        res.end();
      };
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const d = await h.delivery(org, (await h.deliveryFor(e, ev.id)).id);
      expect(d.status).toBe('pending');
      const gap = Date.parse(d.next_retry_at) - Date.parse(d.attempts[0].finished_at);
      expect(gap).toBeGreaterThanOrEqual(min as number);
      expect(gap).toBeLessThanOrEqual(max as number);
      h.advanceTo(d.next_retry_at, -1500);
      await h.drain();
      expect(r.requests).toHaveLength(1);
    });
  });

  describe('auto-disable and endpoint bookkeeping (§6.5)', () => {
    it('20 consecutive failed attempts across several deliveries disable the endpoint', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(500);
      const events = await publishMany(org, 10);
      await h.drain();
      let state = await h.endpointState(e);
      expect(state).toMatchObject({ is_active: true, consecutive_failures: 10, disabled_at: null, last_success_at: null });
      expect(state.last_failure_at).not.toBeNull();

      t.clock.advance(2 * MIN);
      await h.drain();
      expect(r.requests).toHaveLength(20);
      state = await h.endpointState(e);
      expect(state).toMatchObject({ is_active: false, consecutive_failures: 20 });
      expect(state.disabled_at).not.toBeNull();
      for (const id of events) expect(await h.deliveryFor(e, id)).toMatchObject({ status: 'pending', attempt_count: 2 });

      await h.publish(org.organizationId);
      expect(await h.deliveriesOf(e)).toHaveLength(10);
      t.clock.advance(HOUR);
      await h.drain();
      expect(r.requests).toHaveLength(20);
    });

    it('a success resets the streak; the 20th consecutive failure, not the 19th, disables', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(500);
      await publishMany(org, 19);
      await h.drain();
      expect(await h.endpointState(e)).toMatchObject({ is_active: true, consecutive_failures: 19 });

      r.respond = respondWith(200);
      await publishMany(org, 1);
      await h.drain(); // the 19 are not due yet: only the new one goes, and succeeds
      let state = await h.endpointState(e);
      expect(state).toMatchObject({ is_active: true, consecutive_failures: 0 });
      expect(state.last_success_at).not.toBeNull();
      expect(Date.parse(state.last_success_at)).toBeGreaterThanOrEqual(Date.parse(state.last_failure_at));

      r.respond = respondWith(500);
      await publishMany(org, 19);
      await h.drain();
      expect(await h.endpointState(e)).toMatchObject({ is_active: true, consecutive_failures: 19, disabled_at: null });
      await publishMany(org, 1);
      await h.drain();
      state = await h.endpointState(e);
      expect(state).toMatchObject({ is_active: false, consecutive_failures: 20 });
      expect(state.disabled_at).not.toBeNull();
      expect(Date.parse(state.last_failure_at)).toBeGreaterThan(Date.parse(state.last_success_at));
    });
  });

  describe('holding and release (§5.6, §6.5)', () => {
    it('an inactive endpoint gets no new deliveries and its pending ones are held until PATCH is_active: true', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const ev1 = await h.publish(org.organizationId);
      const off = await patch(e, { is_active: false });
      expect(off.body).toMatchObject({ is_active: false, disabled_at: null }); // a manual disable leaves disabled_at null
      await h.drain();
      expect(r.requests).toHaveLength(0);
      await h.publish(org.organizationId);
      expect((await h.deliveriesOf(e)).map((d) => d.event_id)).toEqual([ev1.id]);
      t.clock.advance(HOUR);
      await h.drain();
      expect(r.requests).toHaveLength(0);
      expect(await h.deliveryFor(e, ev1.id)).toMatchObject({ status: 'pending', attempt_count: 0 });

      const on = await patch(e, { is_active: true });
      expect(on.body).toMatchObject({ is_active: true, consecutive_failures: 0, disabled_at: null });
      await h.drain();
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0].headers['x-optimaldial-attempt']).toBe('1');
      expect(r.requests[0].headers['x-optimaldial-event-id']).toBe(ev1.id);
      expect(await h.deliveryFor(e, ev1.id)).toMatchObject({ status: 'delivered', attempt_count: 1 });
    });

    it('holding mid-schedule keeps the attempt count; re-enabling after an auto-disable resets the streak', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(410);
      const ev = await h.publish(org.organizationId);
      await h.drain();
      expect((await h.endpointState(e)).is_active).toBe(false);
      t.clock.advance(10 * MIN);
      await h.drain();
      expect(r.requests).toHaveLength(1);

      r.respond = respondWith(200);
      const on = await patch(e, { is_active: true });
      expect(on.body).toMatchObject({ is_active: true, consecutive_failures: 0, disabled_at: null });
      await h.drain();
      expect(r.requests).toHaveLength(2);
      expect(r.requests[1].headers['x-optimaldial-attempt']).toBe('2');
      expect(await h.deliveryFor(e, ev.id)).toMatchObject({ status: 'delivered', attempt_count: 2 });
    });
  });

  describe('delete (§5.7)', () => {
    it("exhausts the endpoint's pending deliveries in the same transaction; history stays readable", async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const keep = await h.endpoint(org, r, '/keep');
      r.respond = respondWith(500);
      const [a, b] = await publishMany(org, 2);
      await h.drain();
      const c = (await h.publish(org.organizationId)).id;
      const ids = await Promise.all([a, b, c].map(async (ev) => (await h.deliveryFor(e, ev)).id));
      const kept = await h.deliveryFor(keep, c);

      expect((await t.http.delete(`/api/v1/webhooks/${e.id}`).set(org.auth).expect(200)).body).toEqual({ status: 'deleted' });
      await t.http.get(`/api/v1/webhooks/${e.id}`).set(org.auth).expect(404);
      await t.http.get(`/api/v1/webhooks/${e.id}/deliveries`).set(org.auth).expect(404);
      const after = await Promise.all(ids.map((id) => h.delivery(org, id)));
      expect(after.map((d) => [d.status, d.attempt_count, d.next_retry_at])).toEqual([
        ['exhausted', 1, null],
        ['exhausted', 1, null],
        ['exhausted', 0, null],
      ]);
      expect(after[0].attempts).toHaveLength(1);
      expect(after[0].last_error).toMatch(/deleted/);
      expect((await h.deliveryFor(keep, c)).status).toBe('pending');

      r.reset();
      r.respond = respondWith(200);
      t.clock.advance(HOUR);
      await h.drain();
      expect(r.requests.map((q) => q.url).filter((u) => u === '/hook')).toHaveLength(0);
      expect((await h.delivery(org, kept.id)).status).toBe('delivered');
    });

    it('an attempt on the wire finishes and is recorded, but cannot revive the delivery', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const hold = holdingResponder();
      r.respond = hold.respond;
      const ev = await h.publish(org.organizationId);
      const { id } = await h.deliveryFor(e, ev.id);
      const draining = h.drain();
      await r.waitFor(1);
      expect((await h.delivery(org, id)).status).toBe('in_flight');
      await t.http.delete(`/api/v1/webhooks/${e.id}`).set(org.auth).expect(200);
      expect((await h.delivery(org, id)).status).toBe('exhausted');
      hold.release(200);
      await draining;
      const d = await h.delivery(org, id);
      expect(d).toMatchObject({ status: 'exhausted', delivered_at: null });
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]).toMatchObject({ attempt_number: 1, response_status: 200, error_class: null });
      t.clock.advance(HOUR);
      await h.drain();
      expect(r.requests).toHaveLength(1);
    });
  });

  describe('lease expiry after a crash (§6.5)', () => {
    const crash = () =>
      t.get(DeliveriesRepository).claimDue({ now: t.clock.nowMs(), limit: 100, leaseMs: 60_000, token: 'dead-worker:1', perEndpoint: 100 });

    it('a claimed row whose lease passed returns to pending and is retried as the same attempt number', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const ev = await h.publish(org.organizationId);
      const { id } = await h.deliveryFor(e, ev.id);
      expect((await crash()).map((c) => c.id)).toContain(id);
      expect((await h.delivery(org, id)).status).toBe('in_flight');

      await h.drain();
      t.clock.advance(30_000);
      await h.drain();
      expect(r.requests).toHaveLength(0); // the lease still holds

      t.clock.advance(31_000);
      await h.drain();
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0].headers['x-optimaldial-attempt']).toBe('1');
      const d = await h.delivery(org, id);
      expect(d).toMatchObject({ status: 'delivered', attempt_count: 1 });
      expect(d.attempts.map((a: any) => a.attempt_number)).toEqual([1]);

      // the dead worker's late result cannot overwrite what the live one recorded
      const db = t.get(DatabaseService);
      const applied = await db.transaction((m) =>
        t.get(DeliveriesRepository).recordOutcomes(
          m,
          [
            {
              deliveryId: id,
              claimToken: 'dead-worker:1',
              status: 'exhausted',
              nextRetryAt: null,
              attempt: Object.assign(new DeliveryAttempt(), {
                id: '9d1c7f0e-8a3b-4c2d-9e5f-6a7b8c9d0e1f',
                deliveryId: id,
                attemptNumber: 1,
                startedAt: t.clock.now(),
                finishedAt: t.clock.now(),
                durationMs: 1,
                responseStatus: null,
                errorClass: 'timeout',
                errorMessage: 'timed out',
                responseBody: null,
              }),
            },
          ],
          t.clock.now(),
        ),
      );
      expect(applied.size).toBe(0);
      expect((await h.delivery(org, id)).status).toBe('delivered');
    });

    it('a crash during attempt 2 is retried as attempt 2', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(500);
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const d1 = await h.deliveryFor(e, ev.id);
      h.advanceTo(d1.next_retry_at, 5);
      expect((await crash()).map((c) => c.id)).toContain(d1.id);
      r.respond = respondWith(200);
      t.clock.advance(61_000);
      await h.drain();
      expect(r.requests.map((q) => q.headers['x-optimaldial-attempt'])).toEqual(['1', '2']);
      const d = await h.delivery(org, d1.id);
      expect(d).toMatchObject({ status: 'delivered', attempt_count: 2 });
      expect(d.attempts.map((a: any) => a.attempt_number)).toEqual([1, 2]);
    });
  });

  describe('per-endpoint concurrency bound (§6.5)', () => {
    /** A responder that answers after `ms`, tracking how many requests it holds at once. */
    function slowResponder(ms: number) {
      let current = 0;
      let max = 0;
      return {
        max: () => max,
        respond: (_q: unknown, res: import('node:http').ServerResponse) => {
          current++;
          max = Math.max(max, current);
          setTimeout(() => {
            current--;
            res.writeHead(200);
            res.end();
          }, ms);
        },
      };
    }

    it('a slow receiver holds at most the bound while a healthy one is served at once, even behind a backlog', async () => {
      const org = await t.createOrganization();
      const slow = await h.receiver();
      const fast = await h.receiver();
      const es = await h.endpoint(org, slow, '/slow', { events: ['upload.created'] });
      const ef = await h.endpoint(org, fast, '/fast', { events: ['upload.completed'] });
      const hold = holdingResponder();
      slow.respond = hold.respond;
      await publishMany(org, 12, 'upload.created'); // the slow endpoint's backlog comes first in due order
      t.clock.advance(5);
      await publishMany(org, 4, 'upload.completed');

      const started = Date.now();
      const draining = h.drain();
      await fast.waitFor(4, TIMEOUT_MS - 500);
      const fastDone = Date.now() - started;
      expect(fastDone).toBeLessThan(TIMEOUT_MS - 500);
      await waitFor(() => hold.held.length === PER_ENDPOINT, 2000, 'the slow endpoint to fill its slots', 20);
      expect(hold.maxConcurrent()).toBe(PER_ENDPOINT);

      const paced = slowResponder(20);
      slow.respond = paced.respond;
      hold.release(200);
      await draining;
      expect(slow.requests).toHaveLength(12);
      expect(Math.max(paced.max(), hold.maxConcurrent())).toBeLessThanOrEqual(PER_ENDPOINT);
      expect((await h.deliveriesOf(es)).every((d) => d.status === 'delivered')).toBe(true);
      expect((await h.deliveriesOf(ef)).every((d) => d.status === 'delivered')).toBe(true);
    });

    it('two endpoints on the same origin: a slow one does not delay the other', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const es = await h.endpoint(org, r, '/slow', { events: ['upload.created'] });
      const ef = await h.endpoint(org, r, '/fast', { events: ['upload.completed'] });
      const hold = holdingResponder();
      r.respond = (q, res) => (q.url === '/slow' ? hold.respond(q, res) : respondWith(200)(q, res));
      await publishMany(org, 4, 'upload.created');
      await publishMany(org, 3, 'upload.completed');
      const draining = h.drain();
      await waitFor(() => r.requests.filter((q) => q.url === '/fast').length === 3, TIMEOUT_MS - 500, 'the fast endpoint to get its 3 deliveries', 20);
      expect(hold.held.length).toBeLessThanOrEqual(PER_ENDPOINT);
      r.respond = (q, res) => respondWith(200)(q, res);
      hold.release(200);
      await draining;
      expect((await h.deliveriesOf(ef)).map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
      expect((await h.deliveriesOf(es)).every((d) => d.status === 'delivered')).toBe(true);
      expect((await h.deliveriesOf(ef)).every((d) => d.attempt_count === 1)).toBe(true);
    });
  });

  describe('retention (§6.7)', () => {
    it('deletes finished history older than 60 days, keeps what is pending and what is recent', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const held = await h.endpoint(org, r, '/held', { events: ['upload.created'] });
      // the held ones are the oldest: they must not stall retention of what follows them
      const oldPending = await h.publish(org.organizationId, 'upload.created');
      await h.publish(org.organizationId, 'upload.created');
      const old = await h.publish(org.organizationId);
      await patch(held, { is_active: false }); // its deliveries stay pending
      await h.drain();
      const oldDelivered = await h.deliveryFor(e, old.id);
      const oldHeld = await h.deliveryFor(held, oldPending.id);
      expect(oldDelivered.status).toBe('delivered');
      t.clock.advance(61 * 24 * HOUR);
      const recent = await h.publish(org.organizationId);
      await h.drain();
      const recentDelivered = await h.deliveryFor(e, recent.id);

      expect(await t.get(RetentionService).purge(1)).toBeGreaterThanOrEqual(1); // batches of one row
      await t.http.get(`/api/v1/deliveries/${oldDelivered.id}`).set(org.auth).expect(404);
      expect(await t.get(DatabaseService).dataSource.getRepository(DeliveryAttempt).countBy({ deliveryId: oldDelivered.id })).toBe(0);
      expect((await h.delivery(org, oldHeld.id)).status).toBe('pending');
      expect((await h.delivery(org, recentDelivered.id)).status).toBe('delivered');
    });
  });
});
