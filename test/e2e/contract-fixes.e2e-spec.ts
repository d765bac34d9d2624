/**
 * Issue 13, the answers themselves: null is a value (SPEC §1), cancel needs a subscription (§4.5), manual retry
 * numbering and schedule and the test event on an inactive endpoint (§5.8), URL user info encrypted at rest
 * (§5.3), unknown or dangerous query parameter names refused like unknown body fields (§1).
 */
import { DataSource } from 'typeorm';
import { AuthService } from '../../src/auth/auth.service';
import { DatabaseService } from '../../src/database/database.service';
import { sql, SqlFragment } from '../../src/database/sql';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { balanceOf } from '../support/factories';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { DeliveryHarness, MIN, respondWith } from './deliveries.helpers';

describe('issue 13: honest answers', () => {
  let t: TestApp;
  let h: DeliveryHarness;
  let db: DatabaseService;
  beforeAll(async () => {
    t = await createTestApp({ env: LOCAL_DELIVERY_ENV });
    h = new DeliveryHarness(t);
    db = t.get(DatabaseService);
  });
  afterEach(() => h.cleanup());
  afterAll(() => t.close());

  const rows = (statement: SqlFragment): Promise<any[]> => db.rows(null, statement);
  async function count(table: 'webhook_endpoints' | 'events' | 'deliveries'): Promise<number> {
    return Number((await rows(sql([`SELECT COUNT(*) AS n FROM ${table}`])))[0].n);
  }

  describe('null is a value (SPEC §1)', () => {
    it('PATCH {"events": null} is a 400 naming events, and changes nothing', async () => {
      const org = await t.createOrganization();
      const e = await h.endpoint(org, await h.receiver(), '/hook', { events: ['upload.created'] });
      const res = await t.http.patch(`/api/v1/webhooks/${e.id}`).set(org.auth).send({ events: null }).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed', fields: { events: expect.arrayContaining(['must not be null']) } });
      expect(res.body.detail.message).toMatch(/^events /);
      expect((await h.endpointState(e)).events).toEqual(['upload.created']);
    });

    it.each([
      ['PATCH', 'url'],
      ['PATCH', 'events'],
      ['PATCH', 'is_active'],
      ['POST', 'events'],
      ['POST', 'url'],
    ])('%s null %s → 400 naming the field', async (method, field) => {
      const org = await t.createOrganization();
      const e = await h.endpoint(org, await h.receiver());
      const before = await count('webhook_endpoints');
      const req = method === 'PATCH' ? t.http.patch(`/api/v1/webhooks/${e.id}`) : t.http.post('/api/v1/webhooks');
      const body = method === 'POST' && field !== 'url' ? { url: e.url, [field]: null } : { [field]: null };
      const res = await req.set(org.auth).send(body).expect(400);
      expect(Object.keys(res.body.detail.fields)).toEqual([field]);
      expect(await count('webhook_endpoints')).toBe(before);
    });

    it('null where the document says nullable is accepted and means what it says: description null clears it', async () => {
      const org = await t.createOrganization();
      const e = await h.endpoint(org, await h.receiver(), '/hook', { description: 'to be cleared' });
      const res = await t.http.patch(`/api/v1/webhooks/${e.id}`).set(org.auth).send({ description: null }).expect(200);
      expect(res.body.description).toBeNull();
      const doc = (await t.http.get('/docs-json').expect(200)).body;
      expect(doc.components.schemas.UpdateWebhookDto.properties.description.nullable).toBe(true);
      expect(doc.components.schemas.UpdateWebhookDto.properties.events.nullable).toBeUndefined();
    });
  });

  it('DELETE /api/v1/uploads/{id} without an active subscription → 403 subscription_required; nothing cancelled or refunded (SPEC §4.5)', async () => {
    const org = await t.createOrganization({ credits: 1000 });
    const up = (await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100) }).expect(200)).body;
    await t.get(AuthService).setSubscription(org.organizationId, 'inactive');
    const balance = await balanceOf(t, org);
    const res = await t.http.delete(`/api/v1/uploads/${up.id}`).set(org.auth).expect(403);
    expect(res.body.detail).toMatchObject({ error: 'subscription_required' });
    expect(await balanceOf(t, org)).toBe(balance);
    await t.get(AuthService).setSubscription(org.organizationId, 'active');
    expect((await t.http.get(`/api/v1/uploads/${up.id}`).set(org.auth).expect(200)).body.status).toBe('ready_for_processing');
    expect((await t.http.delete(`/api/v1/uploads/${up.id}`).set(org.auth).expect(200)).body).toEqual({ status: 'cancelled', credits_refunded: 100 });
  });

  it('POST /webhooks/{id}/test on an inactive endpoint → 409 invalid_state, nothing enqueued (SPEC §5.8)', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const e = await h.endpoint(org, r);
    await t.http.patch(`/api/v1/webhooks/${e.id}`).set(org.auth).send({ is_active: false }).expect(200);
    const [events, deliveries] = [await count('events'), await count('deliveries')];
    const res = await t.http.post(`/api/v1/webhooks/${e.id}/test`).set(org.auth).send({ event_type: 'upload.completed' }).expect(409);
    expect(res.body.detail).toMatchObject({ error: 'invalid_state', is_active: false });
    expect([await count('events'), await count('deliveries')]).toEqual([events, deliveries]);
    await t.http.patch(`/api/v1/webhooks/${e.id}`).set(org.auth).send({ is_active: true }).expect(200);
    await h.drain();
    expect(r.requests).toHaveLength(0); // nothing was held to be released
  });

  it('a manual retry after a failed attempt is attempt 2, the log shows both, and the schedule restarts (SPEC §5.8)', async () => {
    const org = await t.createOrganization();
    const r = await h.receiver();
    const e = await h.endpoint(org, r);
    r.respond = respondWith(500, 'down');
    const ev = await h.publish(org.organizationId);
    await h.drain();
    const { id } = await h.deliveryFor(e, ev.id);
    expect((await h.delivery(org, id)).attempt_count).toBe(1);

    await t.http.post(`/api/v1/webhooks/${e.id}/deliveries/${id}/retry`).set(org.auth).expect(200);
    await h.drain();
    expect(r.requests.map((q) => q.headers['x-optimaldial-attempt'])).toEqual(['1', '2']);
    const d = await h.delivery(org, id);
    expect(d.attempt_count).toBe(2);
    expect(d.attempts.map((a: any) => a.attempt_number)).toEqual([1, 2]);
    // failed again: the schedule's first step (1 min), not the second (5 min)
    const gap = Date.parse(d.next_retry_at) - Date.parse(d.attempts[1].finished_at);
    expect(gap).toBeGreaterThanOrEqual(0.9 * MIN - 1);
    expect(gap).toBeLessThanOrEqual(1.1 * MIN + 1);
    r.respond = respondWith(200);
    h.advanceTo(d.next_retry_at, 5);
    await h.drain();
    expect(r.requests.map((q) => q.headers['x-optimaldial-attempt'])).toEqual(['1', '2', '3']);
    expect((await h.delivery(org, id)).status).toBe('delivered');
  });

  describe('URL user info is encrypted at rest (SPEC §5.3)', () => {
    it('endpoint: stored masked with the user info encrypted, sent as Basic auth, compared in full on PATCH', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      const url = `${r.url.replace('http://', 'http://alice:s3cr%3At@')}/private?tenant=7`;
      r.respond = respondWith(204);
      const created = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url, events: ['upload.completed'] }).expect(200);
      const id = created.body.webhook.id;
      const [row] = await rows(sql`SELECT url, url_credentials_encrypted FROM webhook_endpoints WHERE id = ${id}`);
      expect(row.url).toBe(`${r.url.replace('http://', 'http://***:***@')}/private?tenant=7`);
      expect(row.url_credentials_encrypted).toMatch(/^v1:/);
      expect(JSON.stringify(await rows(sql`SELECT * FROM webhook_endpoints WHERE id = ${id}`))).not.toMatch(/alice|s3cr/);
      // the queryable part stays queryable
      expect(await rows(sql`SELECT id FROM webhook_endpoints WHERE url LIKE ${'%/private?tenant=7'}`)).toEqual([{ id }]);

      r.reset();
      r.respond = respondWith(200);
      const ev = await h.publish(org.organizationId);
      await h.drain();
      const sent = r.requests.find((q) => q.headers['x-optimaldial-event-id'] === ev.id)!;
      expect(sent.url).toBe('/private?tenant=7');
      expect(sent.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cr:t').toString('base64')}`);
      expect(JSON.stringify(await rows(sql`SELECT * FROM deliveries WHERE event_id = ${ev.id}`))).not.toMatch(/alice|s3cr/);

      // same masked form, another password: a changed URL, so it is re-pinged (with the new credentials) and saved
      r.reset();
      r.respond = respondWith(204);
      const other = url.replace('s3cr%3At', 'n3w');
      await t.http.patch(`/api/v1/webhooks/${id}`).set(org.auth).send({ url: other }).expect(200);
      expect(r.requests.map((q) => q.headers.authorization)).toEqual([`Basic ${Buffer.from('alice:n3w').toString('base64')}`]);
      // the very same URL again: nothing to verify
      r.reset();
      await t.http.patch(`/api/v1/webhooks/${id}`).set(org.auth).send({ url: other }).expect(200);
      expect(r.requests).toHaveLength(0);
      await t.http.delete(`/api/v1/webhooks/${id}`).set(org.auth).expect(200);
    });

    it('per-request webhook: stored masked on the upload and the delivery, user info encrypted, sent as Basic auth', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const r = await h.receiver();
      r.respond = respondWith(200);
      const url = `${r.url.replace('http://', 'http://bob:pw%40x@')}/done`;
      const up = (await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100, 700), webhook: { url } }).expect(202)).body;
      expect(up.webhook.url).toBe(`${r.url.replace('http://', 'http://***:***@')}/done`);
      await t.get(UploadProcessor).processDueUploads();
      await h.drain();
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('bob:pw@x').toString('base64')}`);
      const stored = JSON.stringify([...(await rows(sql`SELECT * FROM uploads WHERE id = ${up.id}`)), ...(await rows(sql`SELECT * FROM deliveries WHERE upload_id = ${up.id}`))]);
      expect(stored).not.toMatch(/bob|pw%40x|pw@x/);
      expect(stored).toMatch(/\*\*\*:\*\*\*@/);
    });

    it('the migration encrypts rows written in plain text before it, on this engine, and its down restores them', async () => {
      const org = await t.createOrganization();
      const r = await h.receiver();
      r.respond = respondWith(204);
      const url = `${r.url.replace('http://', 'http://carol:old%20pw@')}/legacy`;
      const id = (await t.http.post('/api/v1/webhooks').set(org.auth).send({ url }).expect(200)).body.webhook.id;
      const ds = t.get(DataSource);
      // undo back to before the contract migration (later migrations are undone and re-run with it)
      const later = ds.migrations.filter((m) => Number(/\d{13}/.exec(m.name ?? m.constructor.name)?.[0]) >= 1732300013000).length;
      for (let i = 0; i < later; i++) await ds.undoLastMigration({ transaction: 'each' });
      try {
        // what the service wrote before this migration: the URL with its credentials, in plain text
        const [plain] = await rows(sql`SELECT url FROM webhook_endpoints WHERE id = ${id}`);
        expect(plain.url).toBe(url);
      } finally {
        await ds.runMigrations({ transaction: 'each' });
      }
      const [row] = await rows(sql`SELECT url, url_credentials_encrypted FROM webhook_endpoints WHERE id = ${id}`);
      expect(row.url).toBe(`${r.url.replace('http://', 'http://***:***@')}/legacy`);
      expect(row.url_credentials_encrypted).toMatch(/^v1:/);
      r.reset();
      r.respond = respondWith(200);
      await h.publish(org.organizationId);
      await h.drain();
      expect(r.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('carol:old pw').toString('base64')}`);
      await t.http.delete(`/api/v1/webhooks/${id}`).set(org.auth).expect(200);
    });
  });

  describe('query parameter names (SPEC §1)', () => {
    it.each(['__proto__', 'constructor', 'prototype', 'foo', 'limit[]'])('%s → 400 naming it, on list routes and on routes without a query', async (name) => {
      const org = await t.createOrganization();
      for (const path of ['/api/v1/uploads', '/api/v1/deliveries', '/api/v1/me', '/api/v1/webhooks']) {
        const res = await t.http.get(`${path}?${encodeURIComponent(name)}=1`).set(org.auth).expect(400);
        expect(res.body.detail).toMatchObject({ error: 'validation_failed', fields: { [name]: ['is not a recognised query parameter'] } });
      }
      // a write is refused the same way, and changes nothing
      const before = await count('webhook_endpoints');
      await t.http.post(`/api/v1/webhooks?${encodeURIComponent(name)}=1`).set(org.auth).send({ url: 'https://example.com/x' }).expect(400);
      expect(await count('webhook_endpoints')).toBe(before);
    });

    it('documented names stay accepted', async () => {
      const org = await t.createOrganization();
      await t.http.get('/api/v1/uploads?limit=5&status=completed').set(org.auth).expect(200);
      await t.http.get('/api/v1/deliveries?limit=5&status=pending&upload_id=3f8c2b5e-1d7a-4c9b-8e6f-0a1b2c3d4e5f').set(org.auth).expect(200);
    });
  });
});
