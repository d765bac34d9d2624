/**
 * Delivery queries (SPEC §6.7) and the operator actions beyond the seed (SPEC §5.8): retry, recover, test event.
 */
import { AuthService } from '../../src/auth/auth.service';
import { LOCAL_DELIVERY_ENV } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { DeliveryHarness, Endpoint, holdingResponder, HOUR, MIN, respondWith } from './deliveries.helpers';

const DELIVERY_KEYS = [
  'attempt_count',
  'contact_id', // SPEC §6.1 (issue 15)
  'created_at',
  'delivered_at',
  'event_id',
  'event_type',
  'id',
  'last_attempt_at',
  'last_error',
  'last_response_status',
  'next_retry_at',
  'status',
  'target_url',
  'upload_id',
  'webhook_endpoint_id',
];

describe('delivery queries and operator actions (SPEC §6.7, §5.8)', () => {
  let t: TestApp;
  let h: DeliveryHarness;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, DELIVERY_TIMEOUT_MS: '800' } });
    h = new DeliveryHarness(t);
  });
  afterEach(() => h.cleanup());
  afterAll(() => t.close());

  async function keyWith(org: TestOrg, scopes: string[]): Promise<{ Authorization: string }> {
    const k = await t.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId, scopes });
    return { Authorization: `Bearer ${k.apiKey}` };
  }

  /** Drives a delivery through all six attempts (the receiver must be failing). */
  async function exhaust(org: TestOrg, id: string): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const d = await h.delivery(org, id);
      if (d.status !== 'pending') break;
      h.advanceTo(d.next_retry_at, 5);
      await h.drain();
    }
    expect((await h.delivery(org, id)).status).toBe('exhausted');
  }

  describe('GET /api/v1/webhooks/{id}/deliveries (seed contract)', () => {
    let org: TestOrg;
    let e: Endpoint;
    let own: DeliveryHarness; // this block's endpoint outlives each test
    const events: string[] = [];
    afterAll(() => own.cleanup());
    beforeAll(async () => {
      own = new DeliveryHarness(t);
      org = await t.createOrganization();
      const r = await own.receiver();
      e = await own.endpoint(org, r);
      for (let i = 0; i < 25; i++) {
        events.push((await own.publish(org.organizationId, 'upload.completed', { upload: { id: `u-${i}` } })).id);
        t.clock.advance(3);
      }
    });
    const newestFirst = () => [...events].reverse();

    it('is a bare array, newest first, 20 by default, with the delivery shape and no payload', async () => {
      const res = await t.http.get(`/api/v1/webhooks/${e.id}/deliveries`).set(org.auth).expect(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body).toHaveLength(20);
      expect(res.body.map((d: any) => d.event_id)).toEqual(newestFirst().slice(0, 20));
      expect(Object.keys(res.body[0]).sort()).toEqual(DELIVERY_KEYS);
      expect(res.body[0]).toMatchObject({ webhook_endpoint_id: e.id, status: 'pending', attempt_count: 0, event_type: 'upload.completed', target_url: e.url });
      expect(res.headers['x-next-cursor']).toEqual(expect.any(String));
    });

    it('accepts limit 1–100 and pages with X-Next-Cursor while keeping the array shape', async () => {
      expect((await t.http.get(`/api/v1/webhooks/${e.id}/deliveries?limit=1`).set(org.auth).expect(200)).body).toHaveLength(1);
      const all = await t.http.get(`/api/v1/webhooks/${e.id}/deliveries?limit=100`).set(org.auth).expect(200);
      expect(all.body.map((d: any) => d.event_id)).toEqual(newestFirst());
      expect(all.headers['x-next-cursor']).toBeUndefined();
      const exact = await t.http.get(`/api/v1/webhooks/${e.id}/deliveries?limit=25`).set(org.auth).expect(200);
      expect(exact.body).toHaveLength(25);
      expect(exact.headers['x-next-cursor']).toBeUndefined();

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await t.http
          .get(`/api/v1/webhooks/${e.id}/deliveries`)
          .query({ limit: 7, ...(cursor ? { cursor } : {}) })
          .set(org.auth)
          .expect(200);
        expect(Array.isArray(res.body)).toBe(true);
        seen.push(...res.body.map((d: any) => d.event_id));
        cursor = res.headers['x-next-cursor'];
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toEqual(newestFirst());
    });

    it.each(['0', '101', 'abc', '-1', '1.5', '1e1', '20abc'])('limit=%s → 400', async (limit) => {
      const res = await t.http.get(`/api/v1/webhooks/${e.id}/deliveries?limit=${limit}`).set(org.auth).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed' });
    });

    it('rejects a malformed cursor, and 404s for another organization or an unknown endpoint', async () => {
      await t.http.get(`/api/v1/webhooks/${e.id}/deliveries?cursor=not!a!cursor`).set(org.auth).expect(400);
      const stranger = await t.createOrganization();
      const res = await t.http.get(`/api/v1/webhooks/${e.id}/deliveries`).set(stranger.auth).expect(404);
      expect(typeof res.body.detail).toBe('string');
      await t.http.get('/api/v1/webhooks/3f8c2b5e-1d7a-4c9b-8e6f-0a1b2c3d4e5f/deliveries').set(org.auth).expect(404);
    });
  });

  describe('GET /api/v1/deliveries and /api/v1/deliveries/{id}', () => {
    it('filters by status and pages with {data, next_cursor}', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = (req, res) => {
        const n = Number(JSON.parse(req.body.toString()).data.upload.n);
        res.writeHead(n % 2 === 0 ? 200 : 500);
        res.end();
      };
      for (let n = 0; n < 6; n++) {
        await h.publish(org.organizationId, 'upload.completed', { upload: { id: `u-${n}`, n } });
        t.clock.advance(3);
      }
      await h.drain();
      const p1 = await t.http.get('/api/v1/deliveries?status=delivered&limit=2').set(org.auth).expect(200);
      expect(Object.keys(p1.body).sort()).toEqual(['data', 'next_cursor']);
      expect(p1.body.data).toHaveLength(2);
      expect(p1.body.next_cursor).toEqual(expect.any(String));
      const p2 = await t.http.get(`/api/v1/deliveries?status=delivered&limit=2&cursor=${p1.body.next_cursor}`).set(org.auth).expect(200);
      expect(p2.body.data).toHaveLength(1);
      expect(p2.body.next_cursor).toBeNull();
      const delivered = [...p1.body.data, ...p2.body.data];
      expect(delivered.every((d: any) => d.status === 'delivered' && d.webhook_endpoint_id === e.id)).toBe(true);
      const createdAt = delivered.map((d: any) => Date.parse(d.created_at));
      expect(createdAt).toEqual([...createdAt].sort((a, b) => b - a));

      const pending = await t.http.get('/api/v1/deliveries?status=pending').set(org.auth).expect(200);
      expect(pending.body.data).toHaveLength(3);
      expect(pending.body.data.every((d: any) => d.status === 'pending' && d.attempt_count === 1 && d.last_response_status === 500)).toBe(true);
      const all = await t.http.get('/api/v1/deliveries').set(org.auth).expect(200);
      expect(all.body).toEqual({ data: expect.any(Array), next_cursor: null });
      expect(all.body.data).toHaveLength(6);
      expect(Object.keys(all.body.data[0]).sort()).toEqual(DELIVERY_KEYS);

      const stranger = await t.createOrganization();
      expect((await t.http.get('/api/v1/deliveries').set(stranger.auth).expect(200)).body).toEqual({ data: [], next_cursor: null });
      for (const q of ['status=bogus', 'limit=0', 'limit=101', 'limit=abc', 'cursor=%25%25', 'upload_id=nope']) {
        await t.http.get(`/api/v1/deliveries?${q}`).set(org.auth).expect(400);
      }
    });

    it('one delivery: payload and attempts; 404 across organizations; scopes', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const { id } = await h.deliveryFor(e, ev.id);
      const d = await t.http.get(`/api/v1/deliveries/${id}`).set(org.auth).expect(200);
      expect(Object.keys(d.body).sort()).toEqual([...DELIVERY_KEYS, 'attempts', 'payload'].sort());
      expect(d.body.payload).toEqual(JSON.parse(ev.payload.toString('utf8')));
      expect(d.body.attempts).toHaveLength(1);

      const stranger = await t.createOrganization();
      const res = await t.http.get(`/api/v1/deliveries/${id}`).set(stranger.auth).expect(404);
      expect(typeof res.body.detail).toBe('string');
      await t.http.get('/api/v1/deliveries/3f8c2b5e-1d7a-4c9b-8e6f-0a1b2c3d4e5f').set(org.auth).expect(404);
      await t.http.get('/api/v1/deliveries/not-a-uuid').set(org.auth).expect(404);

      // uploads:read sees deliveries about uploads only; uploads:write alone sees nothing
      const reader = await keyWith(org, ['uploads:read']);
      const denied = await t.http.get(`/api/v1/deliveries/${id}`).set(reader).expect(403);
      expect(denied.body.detail).toMatchObject({ error: 'insufficient_scope', required_scope: 'webhooks:manage' });
      await t.http.get('/api/v1/deliveries').set(reader).expect(403);
      await t.http.get('/api/v1/deliveries?upload_id=3f8c2b5e-1d7a-4c9b-8e6f-0a1b2c3d4e5f').set(reader).expect(200);
      const writer = await keyWith(org, ['uploads:write']);
      await t.http.get(`/api/v1/deliveries/${id}`).set(writer).expect(403);
      await t.http.get(`/api/v1/webhooks/${e.id}/deliveries`).set(reader).expect(403);
    });
  });

  describe('POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry', () => {
    it('re-queues an exhausted delivery now: a new attempt on the same id, with the schedule restarted', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      r.respond = respondWith(500, 'down');
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const { id } = await h.deliveryFor(e, ev.id);
      await exhaust(org, id);
      expect(r.requests).toHaveLength(6);

      const res = await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/${id}/retry`).set(org.auth).expect(200);
      expect(res.body).toEqual({ status: 'pending', delivery_id: id });
      const queued = await h.delivery(org, id);
      expect(queued.status).toBe('pending');
      expect(Date.parse(queued.next_retry_at)).toBeLessThanOrEqual(t.clock.nowMs());

      await h.drain();
      expect(r.requests).toHaveLength(7);
      const seventh = r.requests[6];
      expect(seventh.headers['x-optimaldial-delivery-id']).toBe(id);
      expect(seventh.body.equals(r.requests[0].body)).toBe(true);
      const failedAgain = await h.delivery(org, id);
      expect(failedAgain.status).toBe('pending'); // the schedule restarted: not exhausted after a 7th try
      expect(failedAgain.attempts).toHaveLength(7);
      const last = failedAgain.attempts[6];
      expect(String(last.attempt_number)).toBe(seventh.headers['x-optimaldial-attempt']);
      const gap = Date.parse(failedAgain.next_retry_at) - Date.parse(last.finished_at);
      expect(gap).toBeGreaterThanOrEqual(0.9 * MIN - 1);
      expect(gap).toBeLessThanOrEqual(1.1 * MIN + 1);

      r.respond = respondWith(200, 'fixed');
      h.advanceTo(failedAgain.next_retry_at, 5);
      await h.drain();
      const done = await h.delivery(org, id);
      expect(done.status).toBe('delivered');
      expect(done.attempts).toHaveLength(8);
      // history is chronological: the newest attempt is last
      const started = done.attempts.map((a: any) => Date.parse(a.started_at));
      expect(started).toEqual([...started].sort((a, b) => a - b));
      expect(done.attempts[7]).toMatchObject({ response_status: 200, response_body: 'fixed' });
    });

    it('409 while the delivery is on the wire; 404 for another endpoint, another organization, an unknown id', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r, '/one');
      const other = await h.endpoint(org, r, '/two', { events: ['upload.created'] });
      const hold = holdingResponder();
      r.respond = hold.respond;
      const ev = await h.publish(org.organizationId);
      const { id } = await h.deliveryFor(e, ev.id);
      const draining = h.drain();
      await r.waitFor(1);
      const busy = await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/${id}/retry`).set(org.auth).expect(409);
      expect(busy.body.detail).toMatchObject({ error: 'invalid_state' });
      hold.release(200);
      await draining;
      expect((await h.delivery(org, id)).status).toBe('delivered');

      await t.http.post(`/api/v1/webhooks/${other.id}/deliveries/${id}/retry`).set(org.auth).expect(404);
      const stranger = await t.createOrganization();
      await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/${id}/retry`).set(stranger.auth).expect(404);
      await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/3f8c2b5e-1d7a-4c9b-8e6f-0a1b2c3d4e5f/retry`).set(org.auth).expect(404);
      // a delivered one may be sent again on purpose
      r.respond = respondWith(200);
      await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/${id}/retry`).set(org.auth).expect(200);
      await h.drain();
      expect(r.requests).toHaveLength(2);
      expect((await h.delivery(org, id)).status).toBe('delivered');
    });
  });

  describe('POST /api/v1/webhooks/{id}/recover', () => {
    it('re-queues the exhausted deliveries created since the given time, and only those', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      const sibling = await h.endpoint(org, r, '/sibling');
      r.respond = respondWith(500);
      const old = await h.publish(org.organizationId, 'upload.completed', { upload: { id: 'old' } });
      t.clock.advance(10_000);
      const since = new Date(t.clock.nowMs()).toISOString();
      const a = await h.publish(org.organizationId, 'upload.completed', { upload: { id: 'a' } });
      t.clock.advance(10_000);
      const b = await h.publish(org.organizationId, 'upload.completed', { upload: { id: 'b' } });
      for (let i = 0; i < 6; i++) {
        await h.drain();
        t.clock.advance(14 * HOUR); // beyond 12 h + 10 %
      }
      for (const ev of [old, a, b]) {
        expect((await h.deliveryFor(e, ev.id)).status).toBe('exhausted');
        expect((await h.deliveryFor(sibling, ev.id)).status).toBe('exhausted');
      }
      r.reset();
      r.respond = respondWith(200);

      const res = await t.http.post(`/api/v1/webhooks/${e.id}/recover`).set(org.auth).send({ since }).expect(200);
      expect(res.body).toEqual({ requeued: 2 });
      await h.drain();
      expect(r.requests.map((q) => q.url)).toEqual(['/hook', '/hook']);
      expect(r.requests.map((q) => q.headers['x-optimaldial-event-id']).sort()).toEqual([a.id, b.id].sort());
      expect((await h.deliveryFor(e, a.id)).status).toBe('delivered');
      expect((await h.deliveryFor(e, b.id)).status).toBe('delivered');
      expect((await h.deliveryFor(e, old.id)).status).toBe('exhausted');
      expect((await h.deliveryFor(sibling, a.id)).status).toBe('exhausted');
      expect((await t.http.post(`/api/v1/webhooks/${e.id}/recover`).set(org.auth).send({ since }).expect(200)).body).toEqual({ requeued: 0 });

      for (const body of [{}, { since: 'yesterday' }, { since, extra: 1 }]) {
        await t.http.post(`/api/v1/webhooks/${e.id}/recover`).set(org.auth).send(body).expect(400);
      }
      const stranger = await t.createOrganization();
      await t.http.post(`/api/v1/webhooks/${e.id}/recover`).set(stranger.auth).send({ since }).expect(404);
    });
  });

  describe('POST /api/v1/webhooks/{id}/test', () => {
    it.each(['upload.completed', 'upload.failed', 'upload.created'])('enqueues a sample %s to that endpoint only', async (type) => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const target = await h.endpoint(org, r, '/target', { events: type === 'upload.created' ? ['upload.completed'] : ['upload.created'] });
      await h.endpoint(org, r, '/bystander', { events: ['upload.created', 'upload.completed', 'upload.failed'] });
      const res = await t.http.post(`/api/v1/webhooks/${target.id}/test`).set(org.auth).send({ event_type: type }).expect(200);
      expect(res.body).toEqual({ event_id: expect.stringMatching(/^evt_[0-9a-f]{24}$/), delivery_id: expect.any(String) });
      await h.drain();
      expect(r.requests.map((q) => q.url)).toEqual(['/target']);
      const q = r.requests[0];
      expect(q.headers['x-optimaldial-event']).toBe(type);
      expect(q.headers['x-optimaldial-event-id']).toBe(res.body.event_id);
      expect(q.headers['x-optimaldial-delivery-id']).toBe(res.body.delivery_id);
      const body = JSON.parse(q.body.toString('utf8'));
      expect(body).toMatchObject({ id: res.body.event_id, type, api_version: '2026-04-23', data: { test: true, upload: { organization_id: org.organizationId } } });
      if (type === 'upload.failed') expect(body.data.error_message).toEqual(expect.any(String));
      expect((await h.delivery(org, res.body.delivery_id)).status).toBe('delivered');
    });

    it('rejects unknown or unsubscribable types and other organizations', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const e = await h.endpoint(org, r);
      for (const body of [{}, { event_type: 'webhook.ping' }, { event_type: 'upload.exploded' }, { event_type: 'upload.completed', x: 1 }]) {
        await t.http.post(`/api/v1/webhooks/${e.id}/test`).set(org.auth).send(body).expect(400);
      }
      const stranger = await t.createOrganization();
      await t.http.post(`/api/v1/webhooks/${e.id}/test`).set(stranger.auth).send({ event_type: 'upload.completed' }).expect(404);
      await h.drain();
      expect(r.requests).toHaveLength(0);
    });
  });
});
