import { request } from 'node:http';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { balanceOf, download, ISO_MS, storedFiles, UPLOAD_FIELDS, uploadsOf, UUID } from '../support/factories';
import { csvText, formatPhone, INVALID_PHONES, phoneCsv, validPhones } from '../support/phone-data';

/**
 * SPEC §4.3 intake over real HTTP: the JSON and multipart forms, every status code of the create endpoint,
 * credits charged atomically, the stored original. No local-delivery env here: http webhook URLs must be refused.
 */
describe('POST /api/v1/uploads (SPEC §4.3)', () => {
  let t: TestApp;
  const MAX_ENTRIES = 300;
  const MAX_CSV_BYTES = 200_000;

  beforeAll(async () => {
    t = await createTestApp({ env: { UPLOAD_MAX_JSON_ENTRIES: String(MAX_ENTRIES), UPLOAD_MAX_CSV_BYTES: String(MAX_CSV_BYTES) } });
  });
  afterAll(() => t.close());

  const postJson = (org: TestOrg, body: unknown) => t.http.post('/api/v1/uploads').set(org.auth).send(body as object);
  const postCsv = (org: TestOrg, csv: string | Buffer, fields: Record<string, string> = { phone_column: 'phone' }, filename = 'leads.csv') => {
    let req = t.http.post('/api/v1/uploads').set(org.auth);
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', Buffer.isBuffer(csv) ? csv : Buffer.from(csv, 'utf8'), { filename, contentType: 'text/csv' });
  };

  /** Asserts nothing was created or charged for `org`, and no file is left behind. */
  async function expectNothingCreated(org: TestOrg, credits: number, filesBefore: string[]) {
    expect(await balanceOf(t, org)).toBe(credits);
    expect(await uploadsOf(t, org)).toEqual([]);
    expect(storedFiles(t)).toEqual(filesBefore);
  }

  describe('application/json', () => {
    it('phone_numbers → 200 with the full Upload, counts, charge and a default filename', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const valid = validPhones(150);
      // every accepted shape, duplicates in other shapes, and invalid entries
      const list = [...valid.map((p, i) => formatPhone(p, i)), valid[0], formatPhone(valid[1], 3), formatPhone(valid[2], 4), ...INVALID_PHONES];
      const res = await postJson(org, { phone_numbers: list }).expect(200);
      const u = res.body;
      expect(Object.keys(u).sort()).toEqual(UPLOAD_FIELDS);
      expect(u).toMatchObject({
        user_id: org.userId,
        organization_id: org.organizationId,
        status: 'ready_for_processing',
        source: 'api',
        total_rows: list.length,
        valid_row_count: 150,
        duplicate_row_count: 3,
        invalid_row_count: INVALID_PHONES.length,
        credits_required: 150,
        credits_charged: 150,
        credits_refunded: 0,
        skip_mobile_lookup: false,
        processed_storage_path: null,
        processed_filtered_storage_path: null,
        error_message: null,
        exceeded_daily_limit: false,
        webhook: null,
        processing_started_at: null,
        completed_at: null,
      });
      expect(u.id).toMatch(UUID);
      expect(u.api_key_id).toMatch(UUID);
      expect(u.original_filename).toMatch(/^api_upload_[0-9a-f]{12}\.csv$/);
      expect(typeof u.storage_path).toBe('string');
      expect(u.file_size_bytes).toBeGreaterThan(0);
      expect(u.created_at).toMatch(ISO_MS);
      expect(u.updated_at).toMatch(ISO_MS);
      expect(await balanceOf(t, org)).toBe(850);
      // retrieve returns the same object
      expect((await t.http.get(`/api/v1/uploads/${u.id}`).set(org.auth).expect(200)).body).toEqual(u);
      // the stored original is the list as a one-column CSV
      const original = await download(t, org, u.id, 'original');
      expect(original.status).toBe(200);
      expect(original.body.length).toBe(u.file_size_bytes);
      const lines = original.body.toString('utf8').trim().split(/\r?\n/);
      expect(lines[0]).toBe('phone');
      expect(lines).toHaveLength(list.length + 1);
    });

    it('two default filenames differ; filename and skip_mobile_lookup are kept', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const a = (await postJson(org, { phone_numbers: validPhones(100) }).expect(200)).body;
      const b = (await postJson(org, { phone_numbers: validPhones(100) }).expect(200)).body;
      expect(a.original_filename).not.toBe(b.original_filename);
      const c = (await postJson(org, { phone_numbers: validPhones(100), filename: 'march leads.csv', skip_mobile_lookup: true }).expect(200)).body;
      expect(c).toMatchObject({ original_filename: 'march leads.csv', skip_mobile_lookup: true });
    });

    it('contacts: extra string and number fields are kept as columns', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const contacts = validPhones(120).map((phone, i) => ({ phone, name: `Ada, "the" ${i}`, score: i * 1.5, ...(i % 2 ? { city: 'Boston' } : {}) }));
      contacts.push({ phone: 'nope', name: 'bad', score: 0 });
      const u = (await postJson(org, { contacts }).expect(200)).body;
      expect(u).toMatchObject({ valid_row_count: 120, invalid_row_count: 1, total_rows: 121, credits_charged: 120 });
      const original = (await download(t, org, u.id, 'original')).body.toString('utf8');
      const lines = original.split(/\r?\n/);
      expect(lines[0]).toBe('phone,name,score,city');
      expect(lines[1]).toBe(`${contacts[0].phone},"Ada, ""the"" 0",0,`);
      expect(lines[2]).toBe(`${contacts[1].phone},"Ada, ""the"" 1",1.5,Boston`);
    });

    it.each([
      ['both lists', { phone_numbers: ['+14152345678'], contacts: [{ phone: '+14152345678' }] }],
      ['neither list', { filename: 'x.csv' }],
      ['an unknown field', { phone_numbers: validPhones(100), color: 'blue' }],
      ['phone_numbers not an array', { phone_numbers: '+14152345678' }],
      ['a null entry in phone_numbers', { phone_numbers: [...validPhones(100), null] }],
      ['an object entry in phone_numbers', { phone_numbers: [{ phone: '+14152345678' }, ...validPhones(100)] }],
      ['a contact without phone', { contacts: [{ name: 'x' }] }],
      ['a contact field that is an object', { contacts: [{ phone: '+14152345678', nested: { a: 1 } }] }],
      ['skip_mobile_lookup not a boolean', { phone_numbers: validPhones(100), skip_mobile_lookup: 'yes' }],
      ['an empty filename', { phone_numbers: validPhones(100), filename: '  ' }],
    ])('400 for %s, nothing created', async (_name, body) => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const res = await postJson(org, body).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed', message: expect.any(String), fields: expect.any(Object) });
      await expectNothingCreated(org, 1000, before);
    });

    it('413 for more than UPLOAD_MAX_JSON_ENTRIES entries; exactly the maximum is accepted', async () => {
      const org = await t.createOrganization({ credits: 10_000 });
      const before = storedFiles(t);
      const res = await postJson(org, { phone_numbers: validPhones(MAX_ENTRIES + 1) }).expect(413);
      expect(res.body.detail).toMatchObject({ error: 'too_many_entries', limit: MAX_ENTRIES, observed: MAX_ENTRIES + 1 });
      const contacts = await postJson(org, { contacts: validPhones(MAX_ENTRIES + 1).map((phone) => ({ phone })) }).expect(413);
      expect(contacts.body.detail.error).toBe('too_many_entries');
      await expectNothingCreated(org, 10_000, before);
      await postJson(org, { phone_numbers: validPhones(MAX_ENTRIES) }).expect(200);
    });

    it('422 for fewer than 100 distinct valid numbers (duplicates do not count), no charge, no row, no file', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const list = [...validPhones(99), ...validPhones(99), ...INVALID_PHONES];
      const res = await postJson(org, { phone_numbers: list }).expect(422);
      expect(res.body).toEqual({ detail: { error: 'too_few_valid_numbers', message: expect.any(String), valid_row_count: 99, minimum: 100 } });
      await expectNothingCreated(org, 1000, before);
    });

    it('402 {"detail":"Insufficient credits"} when the balance is short by one; nothing created', async () => {
      const org = await t.createOrganization({ credits: 149 });
      const before = storedFiles(t);
      const res = await postJson(org, { phone_numbers: validPhones(150) }).expect(402);
      expect(res.body).toEqual({ detail: 'Insufficient credits' });
      await expectNothingCreated(org, 149, before);
      // exactly the balance is enough, and leaves 0
      await postJson(org, { phone_numbers: validPhones(149) }).expect(200);
      expect(await balanceOf(t, org)).toBe(0);
    });

    it('403 subscription_required for an organization without an active subscription', async () => {
      const org = await t.createOrganization({ credits: 1000, subscription: 'inactive' });
      const before = storedFiles(t);
      const res = await postJson(org, { phone_numbers: validPhones(100) }).expect(403);
      expect(res.body.detail).toMatchObject({ error: 'subscription_required' });
      const csv = await postCsv(org, phoneCsv(validPhones(100)));
      expect(csv.status).toBe(403);
      expect(csv.body.detail).toMatchObject({ error: 'subscription_required' });
      await expectNothingCreated(org, 1000, before);
    });

    it('403 insufficient_scope for a read-only key', async () => {
      const org = await t.createOrganization({ credits: 1000, scopes: ['uploads:read'] });
      const res = await postJson(org, { phone_numbers: validPhones(100) }).expect(403);
      expect(res.body.detail).toMatchObject({ error: 'insufficient_scope', required_scope: 'uploads:write' });
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'phone_numbers=1'],
      ['text/csv', phoneCsv(validPhones(100))],
    ])('415 for %s', async (type, body) => {
      const org = await t.createOrganization({ credits: 1000 });
      const res = await t.http.post('/api/v1/uploads').set(org.auth).set('Content-Type', type).send(body).expect(415);
      expect(typeof res.body.detail).toBe('string');
      expect(await balanceOf(t, org)).toBe(1000);
    });

    it('401 without a key', async () => {
      await t.http.post('/api/v1/uploads').send({ phone_numbers: validPhones(100) }).expect(401);
    });
  });

  describe('multipart/form-data', () => {
    it('a messy CSV: BOM, CRLF, quoted commas and newlines, a ragged row, duplicates; stored byte for byte', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const phones = validPhones(110, 1000);
      const rows: unknown[][] = [['Name', 'Mobile Phone', 'Notes']];
      phones.forEach((p, i) => rows.push([`Doe, Jane ${i}`, formatPhone(p, i), i % 10 === 0 ? 'line one\nline two, "quoted"' : `n${i}`]));
      rows.push(['Dup', formatPhone(phones[5], 3), 'dup']);
      rows.push(['Dup2', phones[6], 'dup']);
      rows.push(['Bad', '555-0100', 'invalid']);
      rows.push(['Ragged', phones[7]]); // one cell short: invalid, not a crash
      rows.push(['Ragged too', validPhones(1, 5000)[0], 'x', 'extra']);
      const csv = Buffer.from(csvText(rows, { bom: true, eol: '\r\n' }), 'utf8');
      const res = await postCsv(org, csv, { phone_column: 'Mobile Phone' }, 'My List.csv').expect(200);
      expect(res.body).toMatchObject({
        status: 'ready_for_processing',
        source: 'api',
        original_filename: 'My List.csv',
        file_size_bytes: csv.length,
        total_rows: 115,
        valid_row_count: 110,
        duplicate_row_count: 2,
        invalid_row_count: 3,
        credits_charged: 110,
        credits_required: 110,
      });
      expect(await balanceOf(t, org)).toBe(890);
      const original = await download(t, org, res.body.id, 'original');
      expect(original.status).toBe(200);
      expect(original.body.equals(csv)).toBe(true);
      expect(original.headers['content-type']).toMatch(/^text\/csv/);
      expect(original.headers['content-disposition']).toContain('My List.csv');
    });

    it('LF line endings, a phone column matched case-insensitively, filename_override and skip_mobile_lookup', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const csv = phoneCsv(validPhones(100), { eol: '\n', column: 'Phone' });
      const res = await postCsv(org, csv, { phone_column: 'phone', filename_override: 'renamed.csv', skip_mobile_lookup: 'true' }, 'orig.csv').expect(200);
      expect(res.body).toMatchObject({ original_filename: 'renamed.csv', skip_mobile_lookup: true, valid_row_count: 100, total_rows: 100 });
      const plain = await postCsv(org, csv, { phone_column: 'Phone', skip_mobile_lookup: 'false' }).expect(200);
      expect(plain.body).toMatchObject({ original_filename: 'leads.csv', skip_mobile_lookup: false });
    });

    it('a non-ASCII file name is kept and served back in Content-Disposition', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const res = await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', filename_override: 'Clientes de São Paulo 客户 "q".csv' }).expect(200);
      expect(res.body.original_filename).toBe('Clientes de São Paulo 客户 "q".csv');
      const original = await download(t, org, res.body.id, 'original');
      expect(original.status).toBe(200);
      const cd = original.headers['content-disposition'];
      expect(cd).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
      expect(decodeURIComponent(cd.split("filename*=UTF-8''")[1])).toBe('Clientes de São Paulo 客户 "q".csv');
      // the file part's own UTF-8 name, without an override
      const own = await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone' }, 'Liste été 客户.csv').expect(200);
      expect(own.body.original_filename).toBe('Liste été 客户.csv');
    });

    it('400 when phone_column is missing, nothing stored', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const res = await postCsv(org, phoneCsv(validPhones(100)), {}).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed', fields: { phone_column: expect.any(Array) } });
      await expectNothingCreated(org, 1000, before);
    });

    it('400 when phone_column is not in the header, nothing stored', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const res = await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'telephone' }).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed', fields: { phone_column: [expect.stringContaining('telephone')] } });
      await expectNothingCreated(org, 1000, before);
    });

    it('400 without a file, for an unknown field, and for a bad skip_mobile_lookup', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      await t.http.post('/api/v1/uploads').set(org.auth).field('phone_column', 'phone').expect(400);
      await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', colour: 'red' }).expect(400);
      await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', skip_mobile_lookup: 'maybe' }).expect(400);
      await expectNothingCreated(org, 1000, before);
    });

    it('400 for an empty file', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      await postCsv(org, '', { phone_column: 'phone' }).expect(400);
      await expectNothingCreated(org, 1000, before);
    });

    it('422 for a CSV with fewer than 100 valid numbers', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const res = await postCsv(org, phoneCsv([...validPhones(50), ...INVALID_PHONES])).expect(422);
      expect(res.body.detail).toMatchObject({ error: 'too_few_valid_numbers', valid_row_count: 50, minimum: 100 });
      await expectNothingCreated(org, 1000, before);
    });

    it('413 for a file over UPLOAD_MAX_CSV_BYTES, nothing stored or charged', async () => {
      const org = await t.createOrganization({ credits: 100_000 });
      const before = storedFiles(t);
      const big = Buffer.from(phoneCsv(validPhones(10_000)), 'utf8');
      expect(big.length).toBeGreaterThan(MAX_CSV_BYTES);
      const res = await postCsv(org, big);
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatchObject({ error: 'file_too_large', limit: MAX_CSV_BYTES });
      await expectNothingCreated(org, 100_000, before);
      // one byte under the cap is fine
      const lines = phoneCsv(validPhones(10_000)).split('\r\n');
      let fits = '';
      for (const l of lines) {
        if (Buffer.byteLength(fits + l + '\r\n') > MAX_CSV_BYTES) break;
        fits += l + '\r\n';
      }
      await postCsv(org, fits).expect(200);
    });

    it('a client that disconnects mid-file leaves nothing behind (no partial file, no charge)', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const boundary = '----odtest' + Date.now();
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="phone_column"\r\n\r\nphone\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n`;
      const { port } = t.app.getHttpServer().address() as { port: number };
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/uploads', headers: { ...org.auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '1000000' } });
        req.on('error', () => resolve());
        req.write(head + phoneCsv(validPhones(2000)).slice(0, 20_000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300);
      });
      for (let i = 0; i < 40 && storedFiles(t).length !== before.length; i++) await new Promise((r) => setTimeout(r, 50));
      await expectNothingCreated(org, 1000, before);
    });

    it('402 for a CSV the balance does not cover: the stored file is removed', async () => {
      const org = await t.createOrganization({ credits: 99 + 1 });
      const before = storedFiles(t);
      const res = await postCsv(org, phoneCsv(validPhones(101))).expect(402);
      expect(res.body).toEqual({ detail: 'Insufficient credits' });
      await expectNothingCreated(org, 100, before);
    });
  });

  describe('the webhook hash is validated before anything is created', () => {
    it.each([
      ['an http URL (http not allowed here)', { url: 'http://93.184.215.14/hook' }, 'webhook'],
      ['a loopback URL', { url: 'https://127.0.0.1/hook' }, 'webhook'],
      ['not a URL', { url: 'not a url' }, 'webhook'],
      ['delay 0', { url: 'https://93.184.215.14/hook', delay: 0 }, 'delay'],
      ['delay 604801', { url: 'https://93.184.215.14/hook', delay: 604801 }, 'delay'],
      ['delay "x"', { url: 'https://93.184.215.14/hook', delay: 'x' }, 'delay'],
      ['delay 1.5', { url: 'https://93.184.215.14/hook', delay: 1.5 }, 'delay'],
      ['a 10-character secret', { url: 'https://93.184.215.14/hook', secret: '0123456789' }, 'secret'],
      ['a 129-character secret', { url: 'https://93.184.215.14/hook', secret: 'x'.repeat(129) }, 'secret'],
      ['an unknown key', { url: 'https://93.184.215.14/hook', retries: 3 }, 'retries'],
      ['no url', { delay: 5 }, 'url'],
    ])('400 for %s (JSON and multipart)', async (_name, webhook, field) => {
      const org = await t.createOrganization({ credits: 1000 });
      const before = storedFiles(t);
      const res = await postJson(org, { phone_numbers: validPhones(100), webhook }).expect(400);
      if (field === 'webhook') expect(res.body.detail.error).toBe('unsafe_url');
      else expect(JSON.stringify(res.body.detail)).toContain(field);
      const mp = await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', webhook: JSON.stringify(webhook) });
      expect(mp.status).toBe(400);
      await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', webhook: '{not json' }).expect(400);
      await expectNothingCreated(org, 1000, before);
    });

    it('a valid hash gives 202 with the Upload (delay 1 and 604800 are the bounds); the secret is never echoed', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const secret = 's'.repeat(16);
      const a = await postJson(org, { phone_numbers: validPhones(100), webhook: { url: 'https://93.184.215.14/hook', delay: 1, secret } }).expect(202);
      expect(Object.keys(a.body).sort()).toEqual(UPLOAD_FIELDS);
      expect(a.body.webhook).toEqual({ url: 'https://93.184.215.14/hook', delay: 1 });
      expect(JSON.stringify(a.body)).not.toContain(secret);
      const b = await postCsv(org, phoneCsv(validPhones(100)), { phone_column: 'phone', webhook: JSON.stringify({ url: 'https://93.184.215.14/x', delay: 604800 }) }).expect(202);
      expect(b.body.webhook).toEqual({ url: 'https://93.184.215.14/x', delay: 604800 });
      const c = await postJson(org, { phone_numbers: validPhones(100), webhook: { url: 'https://93.184.215.14/y' } }).expect(202);
      expect(c.body.webhook).toEqual({ url: 'https://93.184.215.14/y', delay: 0 });
      expect(await balanceOf(t, org)).toBe(700);
    });
  });

  describe('credits under concurrency', () => {
    it('two parallel creates whose total exceeds the balance: exactly one succeeds', async () => {
      const org = await t.createOrganization({ credits: 150 });
      const [a, b] = await Promise.all([postJson(org, { phone_numbers: validPhones(100) }), postCsv(org, phoneCsv(validPhones(100, 500)))]);
      expect([a.status, b.status].sort()).toEqual([200, 402]);
      expect(await balanceOf(t, org)).toBe(50);
      expect(await uploadsOf(t, org)).toHaveLength(1);
    });

    it('20 parallel uploads against a balance that covers 7: exactly 7 succeed, balance 0', async () => {
      const org = await t.createOrganization({ credits: 700 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? postJson(org, { phone_numbers: validPhones(100, i * 100) }) : postCsv(org, phoneCsv(validPhones(100, i * 100))))),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      expect(statuses.filter((s) => s === 402)).toHaveLength(13);
      expect(await balanceOf(t, org)).toBe(0);
      const uploads = await uploadsOf(t, org);
      expect(uploads).toHaveLength(7);
      expect(uploads.reduce((n, u) => n + u.credits_charged, 0)).toBe(700);
      // only the 7 accepted originals remain in storage
      const stored = new Set(storedFiles(t));
      for (const u of uploads) expect(stored.has(u.storage_path)).toBe(true);
    });
  });
});
