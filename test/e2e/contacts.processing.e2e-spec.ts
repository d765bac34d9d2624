import { Webhook } from 'standardwebhooks';
import { ContactProcessor } from '../../src/contacts/contact.processor';
import { ContactsRepository } from '../../src/contacts/contacts.repository';
import { DeliveryProcessor } from '../../src/deliveries/delivery.processor';
import { verifyWebhook } from '../../src/webhooks/signer';
import { AuthService } from '../../src/auth/auth.service';
import { DatabaseService } from '../../src/database/database.service';
import { classifyOffline, PHONE_CLASSIFIER, PhoneClassifier } from '../../src/uploads/phone/phone-classifier';
import { ISO_MS } from '../support/factories';
import { validPhone, validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, ReceivedRequest, Receiver } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { allContacts, balance, CONTACT_FIELDS, contactsOrg } from './contacts.helpers';

/**
 * SPEC §11.5: the ContactProcessor (driven by hand) classifies, finishes and publishes; the real delivery engine
 * delivers contact.completed / contact.failed to real local receivers — subscribed endpoints and callback URLs.
 */
describe('contact processing and events (SPEC §11.5, §6)', () => {
  let t: TestApp;
  let contacts: ContactProcessor;
  let deliveries: DeliveryProcessor;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, CONTACT_BATCH_SIZE: '7', RATE_LIMIT_PER_KEY: '1000', RATE_LIMIT_PER_ORGANIZATION: '10000' } });
    contacts = t.get(ContactProcessor);
    deliveries = t.get(DeliveryProcessor);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
  });
  afterEach(() => jest.restoreAllMocks());

  async function receiver(): Promise<Receiver> {
    const r = await Receiver.http();
    receivers.push(r);
    return r;
  }
  const nowSeconds = () => Math.floor(t.clock.nowMs() / 1000);
  const json = (r: ReceivedRequest) => JSON.parse(r.body.toString('utf8'));
  const header = (r: ReceivedRequest, name: string) => r.headers[name] as string;
  const create = (org: TestOrg, body: object) => t.http.post('/api/v1/contacts').set(org.auth).send(body);
  const get = async (org: TestOrg, id: string) => (await t.http.get(`/api/v1/contacts/${id}`).set(org.auth).expect(200)).body;

  async function endpoint(org: TestOrg, url: string, events?: string[]): Promise<{ id: string; secret: string }> {
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send(events ? { url, events } : { url });
    expect(res.status).toBe(200);
    return { id: res.body.webhook.id, secret: res.body.secret };
  }

  function standardVerify(req: ReceivedRequest, secret: string): unknown {
    const wh = new Webhook(`whsec_${Buffer.from(secret, 'utf8').toString('base64')}`);
    const ts = Number(header(req, 'webhook-timestamp'));
    const now = jest.spyOn(Date, 'now').mockReturnValue(ts * 1000);
    try {
      return wh.verify(req.body.toString('utf8'), {
        'webhook-id': header(req, 'webhook-id'),
        'webhook-timestamp': header(req, 'webhook-timestamp'),
        'webhook-signature': header(req, 'webhook-signature'),
      });
    } finally {
      now.mockRestore();
    }
  }

  it('queued → completed with the classification; contact.completed reaches a subscribed endpoint and the signed callback URL', async () => {
    const org = await contactsOrg(t, { credits: 10 });
    const hooks = await receiver();
    const defaults = await receiver();
    const cb = await receiver();
    const ep = await endpoint(org, `${hooks.url}/contacts`, ['contact.completed', 'contact.failed']);
    await endpoint(org, `${defaults.url}/defaults`); // default subset: uploads only
    hooks.reset();
    defaults.reset();
    const callbackSecret = 'cb-secret-0123456789';
    const phone = validPhone(1000);
    const created = await create(org, { phone, properties: { crm: 'A-1' }, callback_url: `${cb.url}/cb?ref=A-1`, callback_secret: callbackSecret }).expect(202);
    const id = created.body.id;
    expect(created.body.callback_url).toBe(`${cb.url}/cb?ref=A-1`);

    t.clock.advance(10);
    expect(await contacts.processDueContacts()).toBe(1);
    const done = await get(org, id);
    const expected = classifyOffline(phone);
    expect(done).toMatchObject({
      id,
      status: 'completed',
      optimaldial_status: expected.status,
      line_type: expected.line_type,
      error_message: null,
      message: null,
      credits_charged: 1,
      properties: { crm: 'A-1' },
      completed_at: expect.stringMatching(ISO_MS),
    });
    expect(done.updated_at).toBe(done.completed_at);
    expect(Date.parse(done.completed_at)).toBeGreaterThan(Date.parse(done.created_at));
    expect(await balance(t, org)).toBe(9); // charged once, at creation
    expect(await contacts.processDueContacts()).toBe(0); // nothing left

    await deliveries.processDueDeliveries();
    await hooks.waitFor(1);
    await cb.waitFor(1);
    expect(defaults.requests).toHaveLength(0);
    expect(hooks.requests).toHaveLength(1);
    expect(cb.requests).toHaveLength(1);

    const toEndpoint = hooks.requests[0];
    const toCallback = cb.requests[0];
    expect(toCallback.url).toBe('/cb?ref=A-1');
    for (const [req, secret] of [[toEndpoint, ep.secret], [toCallback, callbackSecret]] as const) {
      expect(header(req, 'x-optimaldial-event')).toBe('contact.completed');
      const event = verifyWebhook<{ contact: Record<string, unknown> }>(req.body, req.headers as Record<string, string>, secret, { nowSeconds: nowSeconds() });
      expect(event).toMatchObject({ type: 'contact.completed', api_version: '2026-04-23' });
      expect(Object.keys(event.data).sort()).toEqual(['contact']);
      expect(Object.keys(event.data.contact).sort()).toEqual(CONTACT_FIELDS);
      expect(event.data.contact).toEqual(done); // the Contact object at that moment
      expect(standardVerify(req, secret)).toMatchObject({ id: event.id, type: 'contact.completed' });
      expect(() => verifyWebhook(req.body, req.headers as Record<string, string>, 'wrong-secret-000000', { nowSeconds: nowSeconds() })).toThrow();
    }
    expect(json(toEndpoint)).toEqual(json(toCallback)); // one event, the same bytes to both targets
    expect(toEndpoint.body.equals(toCallback.body)).toBe(true);

    // deliveries of the contact, with an uploads:read key too (like upload_id)
    const readKey = { Authorization: `Bearer ${(await t.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['uploads:read'] })).apiKey}` };
    const list = (await t.http.get(`/api/v1/deliveries?contact_id=${id}`).set(readKey).expect(200)).body;
    expect(list.data).toHaveLength(2);
    expect(list.data.every((d: Record<string, unknown>) => d.contact_id === id && d.upload_id === null && d.event_type === 'contact.completed' && d.status === 'delivered')).toBe(true);
    expect(list.data.map((d: { webhook_endpoint_id: string | null }) => d.webhook_endpoint_id).sort()).toEqual([ep.id, null].sort());
    const callbackDelivery = list.data.find((d: { webhook_endpoint_id: string | null }) => d.webhook_endpoint_id === null);
    const detail = (await t.http.get(`/api/v1/deliveries/${callbackDelivery.id}`).set(readKey).expect(200)).body;
    expect(detail.payload).toEqual(json(toCallback));
    expect(detail.attempts).toHaveLength(1);
    // other contacts' deliveries are not in it; a malformed id is a 400
    expect((await t.http.get(`/api/v1/deliveries?contact_id=6f1c2a4e-0d7b-4c55-9a51-2f0f7d3c9e11`).set(org.auth).expect(200)).body.data).toEqual([]);
    await t.http.get('/api/v1/deliveries?contact_id=nope').set(org.auth).expect(400);
    // without contact_id or upload_id, uploads:read is not enough
    await t.http.get('/api/v1/deliveries').set(readKey).expect(403);
  });

  it('without callback_secret the callback is unsigned and pairs by data.contact.id; user info goes as Basic auth and is masked', async () => {
    const org = await contactsOrg(t, { credits: 5 });
    const cb = await receiver();
    const url = cb.url.replace('http://', 'http://hook:pa55@');
    const created = await create(org, { phone: validPhone(1001), callback_url: `${url}/plain` }).expect(202);
    expect(created.body.callback_url).toBe(`${cb.url.replace('http://', 'http://***:***@')}/plain`);
    await contacts.processDueContacts();
    await deliveries.processDueDeliveries();
    await cb.waitFor(1);
    const req = cb.requests[0];
    expect(req.headers['x-optimaldial-signature']).toBeUndefined();
    expect(req.headers['webhook-signature']).toBeUndefined();
    expect(req.headers['x-optimaldial-event']).toBe('contact.completed');
    expect(req.headers['x-optimaldial-event-id']).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('hook:pa55').toString('base64')}`);
    expect(json(req).data.contact).toMatchObject({ id: created.body.id, status: 'completed' });
    const list = (await t.http.get(`/api/v1/deliveries?contact_id=${created.body.id}`).set(org.auth).expect(200)).body.data;
    expect(list).toHaveLength(1);
    expect(list[0].target_url).not.toContain('pa55');
  });

  it('a classifier failing for one number: that contact fails with contact.failed and a message; the rest of the batch completes', async () => {
    const org = await contactsOrg(t, { credits: 20 });
    const hooks = await receiver();
    const ep = await endpoint(org, `${hooks.url}/all`, ['contact.completed', 'contact.failed']);
    hooks.reset();
    const phones = validPhones(5, 1100);
    const bad = phones[2];
    const classifier = t.app.get<PhoneClassifier>(PHONE_CLASSIFIER);
    const original = classifier.classify.bind(classifier);
    jest.spyOn(classifier, 'classify').mockImplementation(async (numbers, options) => {
      if (numbers.includes(bad)) throw new Error('carrier lookup timed out for this number');
      return original(numbers, options);
    });
    const ids: string[] = [];
    for (const phone of phones) ids.push((await create(org, { phone }).expect(200)).body.id);
    expect(await contacts.processDueContacts()).toBe(5);
    const after = await Promise.all(ids.map((id) => get(org, id)));
    expect(after.map((c) => c.status)).toEqual(['completed', 'completed', 'failed', 'completed', 'completed']);
    expect(after[2]).toMatchObject({
      status: 'failed',
      optimaldial_status: null,
      line_type: null,
      message: null,
      error_message: 'Classification failed: carrier lookup timed out for this number',
      completed_at: expect.stringMatching(ISO_MS),
    });
    expect(await balance(t, org)).toBe(15); // a failed classification keeps its credit, like a failed upload

    await deliveries.processDueDeliveries();
    await hooks.waitFor(5);
    const failed = hooks.requests.filter((r) => header(r, 'x-optimaldial-event') === 'contact.failed');
    expect(failed).toHaveLength(1);
    const event = verifyWebhook<{ contact: Record<string, unknown> }>(failed[0].body, failed[0].headers as Record<string, string>, ep.secret, { nowSeconds: nowSeconds() });
    expect(event.data.contact).toEqual(after[2]);
    expect(hooks.requests.filter((r) => header(r, 'x-optimaldial-event') === 'contact.completed')).toHaveLength(4);
  });

  it('batches: more contacts than one batch are all processed, each with exactly one event', async () => {
    const org = await contactsOrg(t, { credits: 100 });
    const hooks = await receiver();
    await endpoint(org, `${hooks.url}/all`, ['contact.completed', 'contact.failed']);
    hooks.reset();
    const ids = new Set<string>();
    for (const phone of validPhones(23, 1200)) ids.add((await create(org, { phone }).expect(200)).body.id);
    expect(await contacts.processDueContacts()).toBe(23); // batch size 7: four batches
    const all = await allContacts(t, org);
    expect(all.every((c) => c.status === 'completed')).toBe(true);
    await deliveries.processDueDeliveries();
    await hooks.waitFor(23);
    const eventIds = hooks.requests.map((r) => json(r).data.contact.id);
    expect(new Set(eventIds)).toEqual(ids);
    expect(eventIds).toHaveLength(23);
  });

  it('a worker that died holding a batch: nothing is taken before its lease expires, then another run finishes every contact', async () => {
    const org = await contactsOrg(t, { credits: 10 });
    const cb = await receiver();
    const ids: string[] = [];
    for (const phone of validPhones(4, 1300)) ids.push((await create(org, { phone, callback_url: `${cb.url}/c` }).expect(202)).body.id);
    // the "dead" worker claims and never finishes
    const claimed = await t.get(ContactsRepository).claimBatch({ now: t.clock.nowMs(), limit: 100, leaseMs: t.config.contact.leaseMs, token: 'dead-worker:1' });
    expect(claimed.map((c) => c.id).sort()).toEqual([...ids].sort());
    expect((await get(org, ids[0])).status).toBe('processing');
    expect((await get(org, ids[0])).message).toBe('Contact is being processed.');
    // a processing contact can no longer be cancelled
    const cancel = await t.http.delete(`/api/v1/contacts/${ids[0]}`).set(org.auth);
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toMatchObject({ error: 'invalid_state', status: 'processing' });

    expect(await contacts.processDueContacts()).toBe(0);
    t.clock.advance(t.config.contact.leaseMs + 1);
    expect(await contacts.processDueContacts()).toBe(4);
    for (const id of ids) expect((await get(org, id)).status).toBe('completed');
    await deliveries.processDueDeliveries();
    await cb.waitFor(4);
    expect(new Set(cb.requests.map((r) => json(r).data.contact.id))).toEqual(new Set(ids));
    // the dead worker's late finish cannot overwrite or publish twice
    const repo = t.get(ContactsRepository);
    const lateWrite = await t.get(DatabaseService).transaction((m) =>
      repo.finishBatch(m, 'dead-worker:1', [{ id: ids[0], outcome: { status: 'failed', optimaldialStatus: null, lineType: null, errorMessage: 'late' } }], t.clock.now()),
    );
    expect([...lateWrite]).toEqual([]);
    expect((await get(org, ids[0])).status).toBe('completed');
    expect(await balance(t, org)).toBe(6);
  });

  it('cancel racing the processing claim: every contact ends discarded (refunded) or completed (with its event), never both', async () => {
    const org = await contactsOrg(t, { credits: 40 });
    const hooks = await receiver();
    await endpoint(org, `${hooks.url}/all`, ['contact.completed', 'contact.failed']);
    hooks.reset();
    const ids: string[] = [];
    for (const phone of validPhones(30, 1400)) ids.push((await create(org, { phone }).expect(200)).body.id);
    expect(await balance(t, org)).toBe(10);
    const [cancels] = await Promise.all([Promise.all(ids.map((id) => t.http.delete(`/api/v1/contacts/${id}`).set(org.auth))), contacts.processDueContacts()]);
    await contacts.processDueContacts();
    const final = await Promise.all(ids.map((id) => get(org, id)));
    let refunded = 0;
    for (let i = 0; i < ids.length; i++) {
      if (cancels[i].status === 200) {
        refunded++;
        expect(final[i].status).toBe('discarded');
      } else {
        expect(cancels[i].status).toBe(409);
        expect(final[i].status).toBe('completed');
      }
    }
    expect(await balance(t, org)).toBe(10 + refunded);
    await deliveries.processDueDeliveries();
    const completed = final.filter((c) => c.status === 'completed').map((c) => c.id);
    if (completed.length) await hooks.waitFor(completed.length);
    expect(hooks.requests.map((r) => json(r).data.contact.id).sort()).toEqual(completed.sort());
  });

  it('contact.completed and contact.failed are subscribable (not by default) and have test events', async () => {
    const org = await contactsOrg(t, { credits: 1 });
    const hooks = await receiver();
    const def = (await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${hooks.url}/d` }).expect(200)).body.webhook;
    expect(def.events).toEqual(['upload.completed', 'upload.failed']);
    const ep = await endpoint(org, `${hooks.url}/c`, ['contact.failed']);
    hooks.reset();
    const res = await t.http.post(`/api/v1/webhooks/${ep.id}/test`).set(org.auth).send({ event_type: 'contact.failed' }).expect(200);
    await deliveries.processDueDeliveries();
    await hooks.waitFor(1);
    const body = json(hooks.requests[0]);
    expect(body).toMatchObject({ id: res.body.event_id, type: 'contact.failed', data: { test: true, contact: { status: 'failed' } } });
    expect(Object.keys(body.data.contact).sort()).toEqual(CONTACT_FIELDS);
  });
});
