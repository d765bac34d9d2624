import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AuthService } from '../../src/auth/auth.service';
import { DeliveryProcessor } from '../../src/deliveries/delivery.processor';
import { verifyWebhook } from '../../src/webhooks/signer';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { LOCAL_DELIVERY_ENV, ReceivedRequest, Receiver } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { fetchSigned, ISO_MS } from '../support/factories';
import { csvObjects, phoneCsv, validPhones } from '../support/phone-data';

const CREATED_FIELDS = ['created_at', 'id', 'invalid_row_count', 'organization_id', 'original_filename', 'source', 'status', 'total_rows', 'valid_row_count'];

/**
 * SPEC §4.3/§4.6 events and §7.1 per-request webhooks, delivered by the real delivery engine to real local
 * receivers. Processors are driven by hand; time moves with the test clock.
 */
describe('upload events and per-request webhooks (SPEC §6.2, §7.1)', () => {
  let t: TestApp;
  let uploads: UploadProcessor;
  let deliveries: DeliveryProcessor;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: LOCAL_DELIVERY_ENV });
    uploads = t.get(UploadProcessor);
    deliveries = t.get(DeliveryProcessor);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function receiver(): Promise<Receiver> {
    const r = await Receiver.http();
    receivers.push(r);
    return r;
  }

  const nowSeconds = () => Math.floor(t.clock.nowMs() / 1000);
  const json = (r: ReceivedRequest) => JSON.parse(r.body.toString('utf8'));
  const ofType = (r: Receiver, type: string) => r.requests.filter((q) => q.headers['x-optimaldial-event'] === type);

  async function endpoint(org: TestOrg, url: string, events?: string[]): Promise<{ id: string; secret: string }> {
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send(events ? { url, events } : { url });
    expect(res.status).toBe(200);
    return { id: res.body.webhook.id, secret: res.body.secret };
  }

  async function drain(): Promise<void> {
    await deliveries.processDueDeliveries();
  }

  describe('events to subscribed endpoints', () => {
    it('upload.created (only when subscribed) and upload.completed with working signed download links', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const all = await receiver();
      const defaults = await receiver();
      const allEp = await endpoint(org, `${all.url}/all`, ['upload.created', 'upload.completed', 'upload.failed']);
      await endpoint(org, `${defaults.url}/defaults`); // default events: completed + failed
      all.reset();
      defaults.reset();

      const created = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: [...validPhones(100), 'junk'], filename: 'events.csv' }).expect(200);
      const id = created.body.id;
      await drain();
      await all.waitFor(1);
      expect(all.requests).toHaveLength(1);
      expect(defaults.requests).toHaveLength(0);

      const createdReq = all.requests[0];
      const event = verifyWebhook<{ upload: Record<string, unknown> }>(createdReq.body, createdReq.headers as Record<string, string>, allEp.secret, { nowSeconds: nowSeconds() });
      expect(event).toMatchObject({ type: 'upload.created', api_version: '2026-04-23' });
      expect(event.id).toMatch(/^evt_[0-9a-f]{24}$/);
      expect(event.created_at).toMatch(ISO_MS);
      expect(Object.keys(event.data.upload).sort()).toEqual(CREATED_FIELDS);
      expect(event.data.upload).toEqual({
        id,
        source: 'api',
        status: 'ready_for_processing',
        original_filename: 'events.csv',
        total_rows: 101,
        valid_row_count: 100,
        invalid_row_count: 1,
        organization_id: org.organizationId,
        created_at: created.body.created_at,
      });
      expect(JSON.stringify(event)).not.toContain('/files/');

      await uploads.processDueUploads();
      await drain();
      await all.waitFor(2);
      await defaults.waitFor(1);
      for (const [r, secret] of [[all, allEp.secret]] as const) {
        const req = ofType(r, 'upload.completed')[0];
        verifyWebhook(req.body, req.headers as Record<string, string>, secret, { nowSeconds: nowSeconds() });
      }
      const completed = json(ofType(defaults, 'upload.completed')[0]);
      expect(json(ofType(all, 'upload.completed')[0])).toEqual(completed); // one event, the same bytes to every endpoint
      const u = completed.data.upload;
      const current = (await t.http.get(`/api/v1/uploads/${id}`).set(org.auth).expect(200)).body;
      expect(u).toMatchObject({ id, status: 'completed', completed_at: current.completed_at, valid_row_count: 100, organization_id: org.organizationId });
      expect(Object.keys(u).sort()).toEqual([...CREATED_FIELDS, 'completed_at', 'downloads'].sort());
      expect(Object.keys(u.downloads).sort()).toEqual(['expires_at', 'processed', 'processed_filtered']);
      expect(Math.abs(u.downloads.expires_at - (nowSeconds() + 24 * 3600))).toBeLessThan(10);

      const processed = await fetchSigned(t, u.downloads.processed);
      expect(processed.status).toBe(200);
      expect(csvObjects(processed.body.toString('utf8'))).toHaveLength(100);
      const filtered = await fetchSigned(t, u.downloads.processed_filtered);
      expect(filtered.status).toBe(200);
      expect(csvObjects(filtered.body.toString('utf8')).every((r) => r.optimaldial_status === 'Likely Answer')).toBe(true);

      // the endpoint's delivery log and the organization-wide query both know about them
      const byUpload = (await t.http.get(`/api/v1/deliveries?upload_id=${id}`).set(org.auth).expect(200)).body;
      expect(byUpload.data.map((d: { event_type: string }) => d.event_type).sort()).toEqual(['upload.completed', 'upload.completed', 'upload.created']);
      expect(byUpload.data.every((d: { status: string; upload_id: string }) => d.status === 'delivered' && d.upload_id === id)).toBe(true);

      // the links in the payload last 24 hours, not more
      t.clock.advance(23 * 3600_000);
      expect((await fetchSigned(t, u.downloads.processed)).status).toBe(200);
      t.clock.advance(3600_000 + 10_000);
      expect((await fetchSigned(t, u.downloads.processed)).status).toBe(403);
    });

    it('upload.failed carries the status and a human-readable error_message', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const r = await receiver();
      const ep = await endpoint(org, `${r.url}/failures`, ['upload.failed']);
      r.reset();
      const created = (await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100) }).expect(200)).body;
      rmSync(join(t.dataDir, 'files', created.storage_path));
      await uploads.processDueUploads();
      await drain();
      await r.waitFor(1);
      expect(r.requests).toHaveLength(1);
      const event = verifyWebhook<{ upload: Record<string, unknown>; error_message: string }>(r.requests[0].body, r.requests[0].headers as Record<string, string>, ep.secret, { nowSeconds: nowSeconds() });
      expect(event.type).toBe('upload.failed');
      expect(Object.keys(event.data.upload).sort()).toEqual(CREATED_FIELDS);
      expect(event.data.upload).toMatchObject({ id: created.id, status: 'failed' });
      const current = (await t.http.get(`/api/v1/uploads/${created.id}`).set(org.auth).expect(200)).body;
      expect(current.status).toBe('failed');
      expect(event.data.error_message).toBe(current.error_message);
      expect(event.data.error_message).toMatch(/^Processing failed: /);
      expect(event.data.error_message).not.toContain(t.dataDir);
    });
  });

  it('default limits: a 100,000-number JSON list (a 1.5 MB body, over the 1 MB default body limit) is accepted', async () => {
    const org = await t.createOrganization({ credits: 100_000 });
    const res = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100_000, 300_000) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid_row_count: 100_000, credits_charged: 100_000 });
  });

  it('default limits: a list of 250,001 entries → 413 before anything is stored or charged', async () => {
    const org = await t.createOrganization({ credits: 1_000_000 });
    const list = validPhones(250_001);
    const res = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: list }).expect(413);
    expect(res.body.detail).toMatchObject({ error: 'too_many_entries', limit: 250_000, observed: 250_001 });
    expect((await t.http.get('/api/v1/me').set(org.auth)).body.organization.credits_balance).toBe(1_000_000);
    expect((await t.http.get('/api/v1/uploads').set(org.auth).expect(200)).body.data).toEqual([]);
  });

  describe('per-request webhook (SPEC §7.1)', () => {
    it('delivered no earlier than `delay` seconds after processing ends, signed with the given secret', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const r = await receiver();
      const secret = 'per-request-secret-0123456789abcdef';
      const res = await t.http
        .post('/api/v1/uploads')
        .set(org.auth)
        .send({ phone_numbers: validPhones(100), webhook: { url: `${r.url}/done?ref=abc`, delay: 60, secret } })
        .expect(202);
      expect(res.body).toMatchObject({ status: 'ready_for_processing', webhook: { url: `${r.url}/done?ref=abc`, delay: 60 } });
      const id = res.body.id;
      await drain();
      expect(r.requests).toHaveLength(0); // upload.created is not sent to the per-request URL

      await uploads.processDueUploads();
      await drain();
      t.clock.advance(59_000);
      await drain();
      expect(r.requests).toHaveLength(0);
      const pending = (await t.http.get(`/api/v1/deliveries?upload_id=${id}`).set(org.auth).expect(200)).body.data;
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({ webhook_endpoint_id: null, event_type: 'upload.completed', status: 'pending', upload_id: id, attempt_count: 0 });

      t.clock.advance(2_000);
      await drain();
      await r.waitFor(1);
      expect(r.requests).toHaveLength(1);
      const req = r.requests[0];
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/done?ref=abc');
      expect(req.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': 'OptimalDial-Webhooks/1.0',
        'x-optimaldial-event': 'upload.completed',
        'x-optimaldial-attempt': '1',
      });
      const event = verifyWebhook<{ upload: { id: string; status: string } }>(req.body, req.headers as Record<string, string>, secret, { nowSeconds: nowSeconds() });
      expect(event.data.upload).toMatchObject({ id, status: 'completed' });
      expect(req.headers['x-optimaldial-event-id']).toBe(event.id);
      expect(() => verifyWebhook(req.body, req.headers as Record<string, string>, 'another-secret-0123456789', { nowSeconds: nowSeconds() })).toThrow();

      const listed = (await t.http.get(`/api/v1/deliveries?upload_id=${id}`).set(org.auth).expect(200)).body;
      expect(listed.data).toHaveLength(1);
      expect(listed.data[0]).toMatchObject({ id: req.headers['x-optimaldial-delivery-id'], status: 'delivered', webhook_endpoint_id: null, upload_id: id, attempt_count: 1, last_response_status: 200 });
      expect(listed.data[0].target_url).toContain('/done?ref=abc');
      expect(JSON.stringify(listed)).not.toContain(secret);
      // an uploads:read key of the organization may query deliveries about its uploads; another organization sees none
      const reader = await t.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['uploads:read'] });
      const asReader = (await t.http.get(`/api/v1/deliveries?upload_id=${id}`).set({ Authorization: `Bearer ${reader.apiKey}` }).expect(200)).body;
      expect(asReader.data.map((x: { id: string }) => x.id)).toEqual([listed.data[0].id]);
      const stranger = await t.createOrganization();
      expect((await t.http.get(`/api/v1/deliveries?upload_id=${id}`).set(stranger.auth).expect(200)).body.data).toEqual([]);
    });

    it('without a secret the notification is unsigned, and pairs by data.upload.id (multipart form, delay default 0)', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const r = await receiver();
      const res = await t.http
        .post('/api/v1/uploads')
        .set(org.auth)
        .field('phone_column', 'phone')
        .field('webhook', JSON.stringify({ url: `${r.url}/hook` }))
        .attach('file', Buffer.from(phoneCsv(validPhones(100))), { filename: 'list.csv', contentType: 'text/csv' })
        .expect(202);
      expect(res.body.webhook).toEqual({ url: `${r.url}/hook`, delay: 0 });
      await uploads.processDueUploads();
      await drain();
      await r.waitFor(1);
      const req = r.requests[0];
      expect(req.headers['x-optimaldial-signature']).toBeUndefined();
      expect(req.headers['webhook-signature']).toBeUndefined();
      expect(req.headers['x-optimaldial-event']).toBe('upload.completed');
      expect(json(req).data.upload.id).toBe(res.body.id);
    });

    it('upload.failed goes to the per-request URL too; retries follow the delivery schedule', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const r = await receiver();
      let calls = 0;
      r.respond = (_req, res) => {
        res.writeHead(++calls === 1 ? 503 : 200);
        res.end();
      };
      const secret = 'x'.repeat(16);
      const created = (await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100), webhook: { url: `${r.url}/f`, secret } }).expect(202)).body;
      rmSync(join(t.dataDir, 'files', created.storage_path));
      await uploads.processDueUploads();
      await drain();
      await r.waitFor(1);
      let d = (await t.http.get(`/api/v1/deliveries?upload_id=${created.id}`).set(org.auth).expect(200)).body.data[0];
      expect(d).toMatchObject({ status: 'pending', attempt_count: 1, last_response_status: 503 });
      t.clock.advance(70_000); // 1 min ± 10 %
      await drain();
      await r.waitFor(2);
      d = (await t.http.get(`/api/v1/deliveries?upload_id=${created.id}`).set(org.auth).expect(200)).body.data[0];
      expect(d).toMatchObject({ status: 'delivered', attempt_count: 2 });
      const [first, second] = r.requests;
      expect(second.body.equals(first.body)).toBe(true);
      expect(second.headers['x-optimaldial-delivery-id']).toBe(first.headers['x-optimaldial-delivery-id']);
      expect(second.headers['x-optimaldial-attempt']).toBe('2');
      const event = verifyWebhook<{ upload: { id: string; status: string }; error_message: string }>(second.body, second.headers as Record<string, string>, secret, { nowSeconds: nowSeconds() });
      expect(event.type).toBe('upload.failed');
      expect(event.data.upload).toMatchObject({ id: created.id, status: 'failed' });
      expect(event.data.error_message).toMatch(/^Processing failed: /);
    });

    it('an http receiver URL is accepted here (WEBHOOK_ALLOW_HTTP) but a private address outside the allowed ranges is not', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const res = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100), webhook: { url: 'http://10.1.2.3/hook' } }).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'unsafe_url' });
      const bad = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100), webhook: { url: 'http://127.0.0.1:9/hook', delay: 0 } }).expect(400);
      expect(JSON.stringify(bad.body.detail)).toContain('delay');
      expect((await t.http.get('/api/v1/uploads').set(org.auth).expect(200)).body.data).toEqual([]);
    });
  });
});
