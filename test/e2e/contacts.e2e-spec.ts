import { AuthService } from '../../src/auth/auth.service';
import { ContactsService } from '../../src/contacts/contacts.service';
import { ISO_MS, UUID } from '../support/factories';
import { validPhone, validPhones } from '../support/phone-data';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { allContacts, balance, CONTACT_FIELDS, contactsOrg } from './contacts.helpers';

const FEATURE_BODY = {
  detail: { error: 'feature_not_enabled', feature: 'single_contact_api', message: expect.stringContaining('contact support') },
};

/**
 * SPEC §11.2–§11.4 over HTTP: the feature gate, create (validation, charge, idempotency), read, cancel, scopes,
 * organization isolation, rate limits. Processing is in contacts.processing.e2e-spec.ts.
 */
describe('Contacts API (SPEC §11)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const create = (org: TestOrg, body: unknown) => t.http.post('/api/v1/contacts').set(org.auth).send(body as object);

  describe('access (SPEC §11.2)', () => {
    it('without single_contact_api every route is 403 feature_not_enabled, before validation, content type or lookup; nothing is charged', async () => {
      const org = await t.createOrganization({ credits: 10 });
      const id = '6f1c2a4e-0d7b-4c55-9a51-2f0f7d3c9e11';
      const answers = await Promise.all([
        create(org, { phone: validPhone(0) }),
        create(org, { phone: 'not a number', bogus: true }),
        t.http.post('/api/v1/contacts').set(org.auth).set('content-type', 'text/plain').send('hello'),
        t.http.get('/api/v1/contacts').set(org.auth),
        t.http.get('/api/v1/contacts?limit=abc').set(org.auth),
        t.http.get(`/api/v1/contacts/${id}`).set(org.auth),
        t.http.delete(`/api/v1/contacts/${id}`).set(org.auth),
      ]);
      for (const res of answers) {
        expect({ status: res.status, body: res.body }).toEqual({ status: 403, body: FEATURE_BODY });
      }
      expect(await balance(t, org)).toBe(10);

      // authentication still comes first
      await t.http.get('/api/v1/contacts').expect(401);
    });

    it('the CLI-equivalent AuthService.setFeatures enables and disables it; GET /me shows the features', async () => {
      const org = await t.createOrganization({ credits: 5 });
      const auth = t.get(AuthService);
      expect((await t.http.get('/api/v1/me').set(org.auth).expect(200)).body.organization.features).toEqual([]);
      await auth.setFeatures(org.organizationId, { enable: ['single_contact_api'] });
      expect((await t.http.get('/api/v1/me').set(org.auth).expect(200)).body.organization.features).toEqual(['single_contact_api']);
      await t.http.get('/api/v1/contacts').set(org.auth).expect(200);
      await auth.setFeatures(org.organizationId, { disable: ['single_contact_api'] });
      expect((await t.http.get('/api/v1/contacts').set(org.auth)).body).toEqual(FEATURE_BODY);
      await expect(auth.setFeatures(org.organizationId, { enable: ['nope'] })).rejects.toThrow(/unknown feature/);
      await expect(auth.setFeatures(org.organizationId, {})).rejects.toThrow(/at least one/);
    });

    it('writes need an active subscription (403 subscription_required); balance 0 → 402; reads stay allowed', async () => {
      const inactive = await contactsOrg(t, { credits: 5, subscription: 'inactive' });
      const r = await create(inactive, { phone: validPhone(1) });
      expect(r.status).toBe(403);
      expect(r.body.detail.error).toBe('subscription_required');
      await t.http.get('/api/v1/contacts').set(inactive.auth).expect(200);
      expect(await balance(t, inactive)).toBe(5);

      const broke = await contactsOrg(t, { credits: 0 });
      const res = await create(broke, { phone: validPhone(2) });
      expect({ status: res.status, body: res.body }).toEqual({ status: 402, body: { detail: 'Insufficient credits' } });
      expect(await allContacts(t, broke)).toEqual([]);
    });

    it('scopes: uploads:write creates and cancels, uploads:read reads; webhooks:manage alone does neither', async () => {
      const org = await contactsOrg(t, { credits: 5 });
      const auth = t.get(AuthService);
      const key = async (scopes: string[]) => ({
        Authorization: `Bearer ${(await auth.mintKey({ organizationId: org.organizationId, userId: org.userId, scopes })).apiKey}`,
      });
      const writeOnly = await key(['uploads:write']);
      const readOnly = await key(['uploads:read']);
      const hooks = await key(['webhooks:manage']);
      const created = await t.http.post('/api/v1/contacts').set(writeOnly).send({ phone: validPhone(3) }).expect(200);
      const id = created.body.id;
      const expectScope = async (req: Promise<{ status: number; body: any }>, scope: string) => {
        const res = await req;
        expect({ status: res.status, error: res.body.detail?.error, scope: res.body.detail?.required_scope }).toEqual({ status: 403, error: 'insufficient_scope', scope });
      };
      await expectScope(t.http.post('/api/v1/contacts').set(readOnly).send({ phone: validPhone(4) }), 'uploads:write');
      await expectScope(t.http.post('/api/v1/contacts').set(hooks).send({ phone: validPhone(4) }), 'uploads:write');
      await expectScope(t.http.get('/api/v1/contacts').set(writeOnly), 'uploads:read');
      await expectScope(t.http.get(`/api/v1/contacts/${id}`).set(hooks), 'uploads:read');
      await expectScope(t.http.delete(`/api/v1/contacts/${id}`).set(readOnly), 'uploads:write');
      await t.http.get(`/api/v1/contacts/${id}`).set(readOnly).expect(200);
      await t.http.get('/api/v1/contacts').set(readOnly).expect(200);
      await t.http.delete(`/api/v1/contacts/${id}`).set(writeOnly).expect(200);
      expect(await balance(t, org)).toBe(5);
    });
  });

  describe('create (SPEC §11.3)', () => {
    it('normalizes the phone, echoes properties, charges exactly 1 credit; 200 with the full Contact', async () => {
      const org = await contactsOrg(t, { credits: 3 });
      const before = Date.now();
      const res = await create(org, { phone: '(415) 234-5678', properties: { name: 'Ada', score: 7.5, vip: true, note: null } });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(CONTACT_FIELDS);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        organization_id: org.organizationId,
        phone: '+14152345678',
        properties: { name: 'Ada', score: 7.5, vip: true, note: null },
        status: 'queued',
        optimaldial_status: null,
        line_type: null,
        error_message: null,
        message: 'Contact has not been processed yet.',
        credits_charged: 1,
        callback_url: null,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: res.body.created_at,
        completed_at: null,
      });
      expect(Date.parse(res.body.created_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(await balance(t, org)).toBe(2);
      expect((await t.http.get(`/api/v1/contacts/${res.body.id}`).set(org.auth).expect(200)).body).toEqual(res.body);
      // properties default to {}
      expect((await create(org, { phone: '+1 212-234-5678' }).expect(200)).body).toMatchObject({ phone: '+12122345678', properties: {} });
      expect(await balance(t, org)).toBe(1);
    });

    it('every shape uploads accept normalizes the same (one shared normalizer)', async () => {
      const org = await contactsOrg(t, { credits: 10 });
      const shapes = ['+14152345679', '14152345679', '4152345679', '(415) 234-5679', '415.234.5679', '+1 415-234-5679', '  4162345678 '];
      const phones = [];
      for (const s of shapes) phones.push((await create(org, { phone: s }).expect(200)).body.phone);
      expect(phones).toEqual([...Array(6).fill('+14152345679'), '+14162345678']);
    });

    it('callback_url → 202, masked user info, secret never echoed', async () => {
      const org = await contactsOrg(t, { credits: 2 });
      // a public literal address passes the request-time URL policy without DNS
      const res = await create(org, { phone: validPhone(10), callback_url: 'https://user:pw@93.184.216.34/hook?x=1', callback_secret: 'a'.repeat(16) });
      expect(res.status).toBe(202);
      expect(res.body.callback_url).toBe('https://***:***@93.184.216.34/hook?x=1');
      expect(JSON.stringify(res.body)).not.toContain('aaaaaaaaaaaaaaaa');
      expect(await balance(t, org)).toBe(1);
    });

    describe('rejections charge nothing and store nothing', () => {
      let org: TestOrg;
      beforeAll(async () => {
        org = await contactsOrg(t, { credits: 5 });
      });
      afterEach(async () => {
        expect(await balance(t, org)).toBe(5);
        expect(await allContacts(t, org)).toEqual([]);
      });

      const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
      it.each<[string, unknown, string]>([
        ['phone missing', {}, 'phone'],
        ['phone null', { phone: null }, 'phone'],
        ['phone a number', { phone: 4152345678 }, 'phone'],
        ['properties an array', { phone: validPhone(0), properties: [1] }, 'properties'],
        ['properties a string', { phone: validPhone(0), properties: 'x' }, 'properties'],
        ['properties null', { phone: validPhone(0), properties: null }, 'properties'],
        ['51 properties', { phone: validPhone(0), properties: tooMany }, 'properties'],
        ['a 65-character key', { phone: validPhone(0), properties: { ['k'.repeat(65)]: 1 } }, 'properties'],
        ['an empty key', { phone: validPhone(0), properties: { '': 1 } }, 'properties'],
        ['a 1,001-character value', { phone: validPhone(0), properties: { note: 'x'.repeat(1001) } }, 'properties'],
        ['an object value', { phone: validPhone(0), properties: { nested: { a: 1 } } }, 'properties'],
        ['an array value', { phone: validPhone(0), properties: { list: [1, 2] } }, 'properties'],
        ['callback_secret of 15', { phone: validPhone(0), callback_url: 'https://93.184.216.34/h', callback_secret: 'x'.repeat(15) }, 'callback_secret'],
        ['callback_secret of 129', { phone: validPhone(0), callback_url: 'https://93.184.216.34/h', callback_secret: 'x'.repeat(129) }, 'callback_secret'],
        ['callback_secret without callback_url', { phone: validPhone(0), callback_secret: 'x'.repeat(20) }, 'callback_secret'],
        ['callback_url null', { phone: validPhone(0), callback_url: null }, 'callback_url'],
        ['callback_url a number', { phone: validPhone(0), callback_url: 5 }, 'callback_url'],
        ['idempotency_key empty', { phone: validPhone(0), idempotency_key: '' }, 'idempotency_key'],
        ['idempotency_key of 256', { phone: validPhone(0), idempotency_key: 'k'.repeat(256) }, 'idempotency_key'],
        ['idempotency_key null', { phone: validPhone(0), idempotency_key: null }, 'idempotency_key'],
        ['an unknown field', { phone: validPhone(0), name: 'Ada' }, 'name'],
      ])('%s → 400 validation_failed naming the field', async (_name, body, field) => {
        const res = await create(org, body);
        expect(res.status).toBe(400);
        expect(res.body.detail.error).toBe('validation_failed');
        expect(Object.keys(res.body.detail.fields)).toContain(field);
      });

      it.each(['', 'not a number', '415234567', '4150234567', '2125550123', '8002345678', '9002345678', '8762345678', '+44 20 7946 0958'])(
        'phone %j → 422 invalid_phone_number',
        async (phone) => {
          const res = await create(org, { phone });
          expect({ status: res.status, body: res.body }).toEqual({
            status: 422,
            body: { detail: { error: 'invalid_phone_number', message: expect.any(String), phone } },
          });
        },
      );

      it.each<[string, string, string]>([
        ['http', 'http://93.184.216.34/h', 'not_https'],
        ['loopback', 'https://127.0.0.1/h', 'private_address'],
        ['RFC 1918', 'https://10.0.0.7/h', 'private_address'],
        ['metadata', 'https://169.254.169.254/latest', 'private_address'],
        ['hex loopback', 'https://0x7f000001/h', 'private_address'],
        ['unparsable', 'not a url', 'invalid_url'],
        ['over 2048 characters', `https://93.184.216.34/${'a'.repeat(2048)}`, 'invalid_url'],
      ])('callback_url (%s) %#→ 400 unsafe_url', async (_label, url, reason) => {
        const res = await create(org, { phone: validPhone(0), callback_url: url });
        expect(res.status).toBe(400);
        expect(res.body.detail).toMatchObject({ error: 'unsafe_url', reason });
      });

      it('a body other than JSON → 415; malformed JSON → 400', async () => {
        const text = await t.http.post('/api/v1/contacts').set(org.auth).set('content-type', 'text/plain').send('phone=4152345678');
        expect(text.status).toBe(415);
        expect(text.body.detail).toEqual(expect.any(String));
        const form = await t.http.post('/api/v1/contacts').set(org.auth).type('form').send({ phone: '4152345678' });
        expect(form.status).toBe(415);
        const multipart = await t.http.post('/api/v1/contacts').set(org.auth).field('phone', '4152345678');
        expect(multipart.status).toBe(415);
        const none = await t.http.post('/api/v1/contacts').set(org.auth);
        expect(none.status).toBe(415);
        const bad = await t.http.post('/api/v1/contacts').set(org.auth).set('content-type', 'application/json').send('{"phone": ');
        expect(bad.status).toBe(400);
        const arr = await t.http.post('/api/v1/contacts').set(org.auth).send([{ phone: validPhone(0) }]);
        expect(arr.status).toBe(400);
      });
    });

    it('the bounds themselves are accepted: 50 keys, 64-character key, 1,000-character value, 16 and 128-character secrets, 255-character key', async () => {
      const org = await contactsOrg(t, { credits: 10 });
      const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i % 2 ? `v${i}` : i]));
      await create(org, { phone: validPhone(20), properties: fifty }).expect(200);
      await create(org, { phone: validPhone(21), properties: { ['k'.repeat(64)]: 'x'.repeat(1000) } }).expect(200);
      await create(org, { phone: validPhone(22), callback_url: 'https://93.184.216.34/h', callback_secret: 's'.repeat(16) }).expect(202);
      await create(org, { phone: validPhone(23), callback_url: 'https://93.184.216.34/h', callback_secret: 's'.repeat(128) }).expect(202);
      await create(org, { phone: validPhone(24), idempotency_key: 'i'.repeat(255) }).expect(200);
      expect(await balance(t, org)).toBe(5);
    });
  });

  describe('idempotency (SPEC §11.3)', () => {
    it('a repeat returns the existing contact with no charge; a different body gets Idempotency-Mismatch: true', async () => {
      const org = await contactsOrg(t, { credits: 5 });
      const body = { phone: validPhone(30), properties: { a: 1, b: 'two' }, idempotency_key: 'order-1' };
      const first = await create(org, body).expect(200);
      expect(first.headers['idempotency-mismatch']).toBeUndefined();
      expect(await balance(t, org)).toBe(4);

      // same body, keys in another order: a repeat, not a mismatch
      const again = await create(org, { idempotency_key: 'order-1', properties: { b: 'two', a: 1 }, phone: validPhone(30) }).expect(200);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotency-mismatch']).toBeUndefined();

      // a different body (even with a callback_url): the existing contact, 200 not 202, flagged
      const other = await create(org, { phone: validPhone(31), idempotency_key: 'order-1', callback_url: 'https://93.184.216.34/h' });
      expect(other.status).toBe(200);
      expect(other.body).toEqual(first.body);
      expect(other.headers['idempotency-mismatch']).toBe('true');
      expect(await balance(t, org)).toBe(4);
      expect(await allContacts(t, org)).toHaveLength(1);

      // a discarded contact is returned as it is now
      await t.http.delete(`/api/v1/contacts/${first.body.id}`).set(org.auth).expect(200);
      const afterCancel = await create(org, body).expect(200);
      expect(afterCancel.body).toMatchObject({ id: first.body.id, status: 'discarded', message: null });
      expect(await balance(t, org)).toBe(5);
    });

    it('keys are scoped per (organization, API key); balance 0 still answers a repeat', async () => {
      const org = await contactsOrg(t, { credits: 2 });
      const second = { Authorization: `Bearer ${(await t.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId })).apiKey}` };
      const a = await create(org, { phone: validPhone(40), idempotency_key: 'k' }).expect(200);
      const b = await t.http.post('/api/v1/contacts').set(second).send({ phone: validPhone(40), idempotency_key: 'k' }).expect(200);
      expect(b.body.id).not.toBe(a.body.id);
      expect(await balance(t, org)).toBe(0);
      // the balance is 0 now, yet a repeat is not a new charge: it returns the contact
      expect((await create(org, { phone: validPhone(40), idempotency_key: 'k' }).expect(200)).body.id).toBe(a.body.id);
      const other = await contactsOrg(t, { credits: 1 });
      const c = await create(other, { phone: validPhone(40), idempotency_key: 'k' }).expect(200);
      expect(c.body.id).not.toBe(a.body.id);
    });

    it('20 identical requests racing create one contact and charge one credit', async () => {
      const org = await contactsOrg(t, { credits: 100 });
      const body = { phone: validPhone(50), idempotency_key: 'race-1', properties: { n: 1 } };
      const answers = await Promise.all(Array.from({ length: 20 }, () => create(org, body)));
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
      expect(answers.every((r) => r.headers['idempotency-mismatch'] === undefined)).toBe(true);
      expect(await balance(t, org)).toBe(99);
      expect(await allContacts(t, org)).toHaveLength(1);
    });

    it('20 identical creates racing inside the service (no HTTP pacing): the unique index decides, one row, one charge', async () => {
      const org = await contactsOrg(t, { credits: 10 });
      const keys = await t.get(AuthService).listKeys(org.organizationId);
      const principal = { organizationId: org.organizationId, userId: org.userId, apiKeyId: keys[0].id, scopes: keys[0].scopes };
      const service = t.get(ContactsService);
      const results = await Promise.all(Array.from({ length: 20 }, () => service.create(principal, { phone: validPhone(55), idempotency_key: 'race-2' })));
      expect(new Set(results.map((r) => r.contact.id)).size).toBe(1);
      expect(results.filter((r) => !r.existing)).toHaveLength(1);
      expect(results.every((r) => !r.idempotencyMismatch)).toBe(true);
      expect(await balance(t, org)).toBe(9);
      expect(await allContacts(t, org)).toHaveLength(1);
    });

    it('20 racing creates without a key against a balance of 7: exactly 7 contacts, balance 0, the rest 402', async () => {
      const org = await contactsOrg(t, { credits: 7 });
      const answers = await Promise.all(validPhones(20, 60).map((phone) => create(org, { phone })));
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([...Array(7).fill(200), ...Array(13).fill(402)]);
      expect(await balance(t, org)).toBe(0);
      expect(await allContacts(t, org)).toHaveLength(7);
    });
  });

  describe('read and cancel (SPEC §11.4)', () => {
    it('cursor pages, newest first, without gaps or overlaps; status filter; limit bounds', async () => {
      const org = await contactsOrg(t, { credits: 100 });
      const ids: string[] = [];
      for (const phone of validPhones(23, 100)) {
        ids.push((await create(org, { phone }).expect(200)).body.id);
        t.clock.advance(1); // distinct timestamps are not required, but make the expected order unambiguous
      }
      // and a few created within one millisecond (same created_at: the id breaks the tie)
      const sameMs = await Promise.all(validPhones(4, 200).map((phone) => create(org, { phone }).expect(200)));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { data: Array<{ id: string; created_at: string }>; next_cursor: string | null } } = await t.http
          .get(`/api/v1/contacts?limit=5${cursor ? `&cursor=${cursor}` : ''}`)
          .set(org.auth)
          .expect(200);
        expect(res.body.data.length).toBeLessThanOrEqual(5);
        seen.push(...res.body.data.map((c) => c.id));
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(6);
      expect(seen).toHaveLength(27);
      expect(new Set(seen).size).toBe(27);
      expect(seen.slice(4)).toEqual([...ids].reverse());
      expect(new Set(seen.slice(0, 4))).toEqual(new Set(sameMs.map((r) => r.body.id)));

      await t.http.delete(`/api/v1/contacts/${ids[3]}`).set(org.auth).expect(200);
      const discarded = (await t.http.get('/api/v1/contacts?status=discarded').set(org.auth).expect(200)).body;
      expect(discarded).toEqual({ data: [expect.objectContaining({ id: ids[3], status: 'discarded' })], next_cursor: null });
      expect((await t.http.get('/api/v1/contacts').set(org.auth).expect(200)).body.data).toHaveLength(27);

      for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'status=done', 'cursor=%%%', 'cursor=abc', 'extra=1']) {
        const res = await t.http.get(`/api/v1/contacts?${q}`).set(org.auth);
        expect({ q, status: res.status }).toEqual({ q, status: 400 });
      }
      expect((await t.http.get('/api/v1/contacts?limit=100').set(org.auth).expect(200)).body.data).toHaveLength(27);
    });

    it('cancel while queued: discarded, 1 credit refunded exactly once; a second cancel is 409 invalid_state', async () => {
      const org = await contactsOrg(t, { credits: 3 });
      const c = (await create(org, { phone: validPhone(300) }).expect(200)).body;
      expect(await balance(t, org)).toBe(2);
      t.clock.advance(5);
      const res = await t.http.delete(`/api/v1/contacts/${c.id}`).set(org.auth);
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { status: 'cancelled', contact_id: c.id, credits_refunded: 1 } });
      expect(await balance(t, org)).toBe(3);
      const after = (await t.http.get(`/api/v1/contacts/${c.id}`).set(org.auth).expect(200)).body;
      expect(after).toMatchObject({ status: 'discarded', message: null, completed_at: null, credits_charged: 1 });
      expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(c.updated_at));
      const again = await t.http.delete(`/api/v1/contacts/${c.id}`).set(org.auth);
      expect({ status: again.status, body: again.body }).toEqual({
        status: 409,
        body: { detail: { error: 'invalid_state', message: expect.any(String), status: 'discarded' } },
      });
      // racing cancels of one contact: one refund
      const d = (await create(org, { phone: validPhone(301) }).expect(200)).body;
      const racing = await Promise.all(Array.from({ length: 8 }, () => t.http.delete(`/api/v1/contacts/${d.id}`).set(org.auth)));
      expect(racing.map((r) => r.status).sort()).toEqual([200, ...Array(7).fill(409)]);
      expect(await balance(t, org)).toBe(3);
    });

    it('another organization’s contact is 404 on every route, and its list is empty', async () => {
      const owner = await contactsOrg(t, { credits: 2 });
      const stranger = await contactsOrg(t, { credits: 2 });
      const c = (await create(owner, { phone: validPhone(310) }).expect(200)).body;
      for (const res of [
        await t.http.get(`/api/v1/contacts/${c.id}`).set(stranger.auth),
        await t.http.delete(`/api/v1/contacts/${c.id}`).set(stranger.auth),
        await t.http.get('/api/v1/contacts/6f1c2a4e-0d7b-4c55-9a51-2f0f7d3c9e11').set(owner.auth),
        await t.http.get('/api/v1/contacts/not-a-uuid').set(owner.auth),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: expect.any(String) });
      }
      expect((await t.http.get('/api/v1/contacts').set(stranger.auth).expect(200)).body).toEqual({ data: [], next_cursor: null });
      expect((await t.http.get(`/api/v1/contacts/${c.id}`).set(owner.auth).expect(200)).body.status).toBe('queued');
      expect(await balance(t, owner)).toBe(1);
    });
  });

  it('rate limits apply to creates and cancels (60 writes per key per minute); a 429 charges nothing', async () => {
    const org = await contactsOrg(t, { credits: 100 });
    const phones = validPhones(61, 400);
    for (let i = 0; i < 59; i++) await create(org, { phone: phones[i] }).expect(200);
    const c = await create(org, { phone: phones[59] }).expect(200);
    expect(c.headers['x-ratelimit-remaining']).toBe('0');
    expect(c.headers['x-ratelimit-limit']).toBe('60');
    const over = await create(org, { phone: phones[60] });
    expect(over.status).toBe(429);
    expect(over.body.detail).toMatchObject({ error: 'rate_limit_exceeded', scope: 'api_key', limit: 60 });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await t.http.delete(`/api/v1/contacts/${c.body.id}`).set(org.auth)).status).toBe(429);
    await t.http.get('/api/v1/contacts').set(org.auth).expect(200); // reads are not limited
    expect(await balance(t, org)).toBe(40);
    t.clock.advance(61_000);
    await t.http.delete(`/api/v1/contacts/${c.body.id}`).set(org.auth).expect(200);
    expect(await balance(t, org)).toBe(41);
  });
});
