import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AuthService } from '../../src/auth/auth.service';
import { DatabaseService } from '../../src/database/database.service';
import { classifyOffline, PHONE_CLASSIFIER, PhoneClassifier } from '../../src/uploads/phone/phone-classifier';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { balanceOf, download, fetchSigned, ISO_MS, storedFiles, uploadsOf } from '../support/factories';
import { csvObjects, csvText, formatPhone, INVALID_PHONES, parseCsv, validPhones } from '../support/phone-data';

/** SPEC §4.4–4.7: list, retrieve, cancel, processing, result files, signed downloads, daily limit, crash recovery. */
describe('uploads lifecycle (SPEC §4.4–4.7)', () => {
  let t: TestApp;
  let processor: UploadProcessor;
  let classifier: PhoneClassifier;

  beforeAll(async () => {
    t = await createTestApp();
    processor = t.get(UploadProcessor);
    classifier = t.app.get(PHONE_CLASSIFIER);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const postJson = (org: TestOrg, body: unknown) => t.http.post('/api/v1/uploads').set(org.auth).send(body as object);
  const create = async (org: TestOrg, body: Record<string, unknown> = { phone_numbers: validPhones(100) }) => (await postJson(org, body).expect(200)).body;
  const get = async (org: TestOrg, id: string) => (await t.http.get(`/api/v1/uploads/${id}`).set(org.auth).expect(200)).body;

  describe('list and retrieve', () => {
    it('cursor pages, newest first, with limit and a status filter', async () => {
      const org = await t.createOrganization({ credits: 10_000 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await create(org)).id);
        t.clock.advance(5); // distinct created_at
      }
      const newestFirst = [...ids].reverse();
      const p1 = (await t.http.get('/api/v1/uploads?limit=2').set(org.auth).expect(200)).body;
      expect(p1.data.map((u: { id: string }) => u.id)).toEqual(newestFirst.slice(0, 2));
      expect(typeof p1.next_cursor).toBe('string');
      const p2 = (await t.http.get(`/api/v1/uploads?limit=2&cursor=${p1.next_cursor}`).set(org.auth).expect(200)).body;
      expect(p2.data.map((u: { id: string }) => u.id)).toEqual(newestFirst.slice(2, 4));
      const p3 = (await t.http.get(`/api/v1/uploads?limit=2&cursor=${p2.next_cursor}`).set(org.auth).expect(200)).body;
      expect(p3.data.map((u: { id: string }) => u.id)).toEqual(newestFirst.slice(4));
      expect(p3.next_cursor).toBeNull();
      // default limit returns all five, no cursor
      const all = (await t.http.get('/api/v1/uploads').set(org.auth).expect(200)).body;
      expect(all.data.map((u: { id: string }) => u.id)).toEqual(newestFirst);
      expect(all.next_cursor).toBeNull();
      // status filter
      await t.http.delete(`/api/v1/uploads/${ids[1]}`).set(org.auth).expect(200);
      await t.http.delete(`/api/v1/uploads/${ids[3]}`).set(org.auth).expect(200);
      const cancelled = (await t.http.get('/api/v1/uploads?status=cancelled&limit=1').set(org.auth).expect(200)).body;
      expect(cancelled.data.map((u: { id: string }) => u.id)).toEqual([ids[3]]);
      const cancelled2 = (await t.http.get(`/api/v1/uploads?status=cancelled&limit=1&cursor=${cancelled.next_cursor}`).set(org.auth).expect(200)).body;
      expect(cancelled2.data.map((u: { id: string }) => u.id)).toEqual([ids[1]]);
      expect(cancelled2.next_cursor).toBeNull();
      const ready = (await t.http.get('/api/v1/uploads?status=ready_for_processing').set(org.auth).expect(200)).body;
      expect(ready.data.map((u: { id: string }) => u.id)).toEqual([ids[4], ids[2], ids[0]]);
      // another organization sees none of them
      const other = await t.createOrganization();
      expect((await t.http.get('/api/v1/uploads').set(other.auth).expect(200)).body).toEqual({ data: [], next_cursor: null });
    });

    it.each([
      ['a malformed cursor', 'cursor=not-a-cursor!'],
      ['a base64 cursor of garbage', `cursor=${Buffer.from('hello').toString('base64url')}`],
      ['limit=abc', 'limit=abc'],
      ['limit=0', 'limit=0'],
      ['limit=101', 'limit=101'],
      ['an unknown status', 'status=done'],
    ])('400 for %s', async (_name, query) => {
      const org = await t.createOrganization();
      const res = await t.http.get(`/api/v1/uploads?${query}`).set(org.auth).expect(400);
      expect(res.body.detail).toMatchObject({ error: 'validation_failed' });
    });

    it("another organization's upload is 404 on GET, DELETE and download; nothing changes", async () => {
      const owner = await t.createOrganization({ credits: 1000 });
      const other = await t.createOrganization({ credits: 1000 });
      const u = await create(owner);
      for (const path of [`/api/v1/uploads/${u.id}`, `/api/v1/uploads/${u.id}/download/original`, `/api/v1/uploads/${u.id}/download/processed`]) {
        const res = await t.http.get(path).set(other.auth).expect(404);
        expect(typeof res.body.detail).toBe('string');
      }
      await t.http.delete(`/api/v1/uploads/${u.id}`).set(other.auth).expect(404);
      expect(await get(owner, u.id)).toMatchObject({ status: 'ready_for_processing', credits_refunded: 0 });
      expect(await balanceOf(t, owner)).toBe(900);
      expect(await balanceOf(t, other)).toBe(1000);
      // unknown and malformed ids
      await t.http.get('/api/v1/uploads/6f1c1d4e-3b7a-4c59-9a39-0d8e5e2b7c11').set(owner.auth).expect(404);
      await t.http.get('/api/v1/uploads/nope').set(owner.auth).expect(404);
      await t.http.get(`/api/v1/uploads/${u.id}/download/everything`).set(owner.auth).expect(404);
    });
  });

  describe('cancel (SPEC §4.5)', () => {
    it('before processing: cancelled, refunded atomically; a second cancel is 409 invalid_state', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org, { phone_numbers: [...validPhones(130), ...validPhones(10)] });
      expect(await balanceOf(t, org)).toBe(870);
      const res = await t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth).expect(200);
      expect(res.body).toEqual({ status: 'cancelled', credits_refunded: 130 });
      expect(await balanceOf(t, org)).toBe(1000);
      expect(await get(org, u.id)).toMatchObject({ status: 'cancelled', credits_charged: 130, credits_refunded: 130 });
      const again = await t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth).expect(409);
      expect(again.body.detail).toMatchObject({ error: 'invalid_state', status: 'cancelled' });
      expect(await balanceOf(t, org)).toBe(1000);
      // a cancelled upload is never processed
      await processor.processDueUploads();
      expect(await get(org, u.id)).toMatchObject({ status: 'cancelled', processing_started_at: null });
    });

    it('409 while processing and after completion, without refund', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org);
      // hold the classifier so the upload is really in `processing` when the cancel arrives
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const original = classifier.classify.bind(classifier);
      jest.spyOn(classifier, 'classify').mockImplementation(async (numbers, options) => {
        entered();
        await gate;
        return original(numbers, options);
      });
      const run = processor.processDueUploads();
      await inside;
      const during = await t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth).expect(409);
      expect(during.body.detail).toMatchObject({ error: 'invalid_state', status: 'processing' });
      expect((await get(org, u.id)).processing_started_at).toMatch(ISO_MS);
      release();
      await run;
      const after = await t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth).expect(409);
      expect(after.body.detail).toMatchObject({ error: 'invalid_state', status: 'completed' });
      expect(await balanceOf(t, org)).toBe(900);
      expect(await get(org, u.id)).toMatchObject({ status: 'completed', credits_refunded: 0 });
    });

    it('a cancel racing the processor: exactly one wins, and the books balance', async () => {
      for (let round = 0; round < 4; round++) {
        const org = await t.createOrganization({ credits: 100 });
        const u = await create(org);
        const [cancel] = await Promise.all([t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth), processor.processDueUploads()]);
        const final = await get(org, u.id);
        if (cancel.status === 200) {
          expect(final).toMatchObject({ status: 'cancelled', credits_refunded: 100, processing_started_at: null });
          expect(await balanceOf(t, org)).toBe(100);
        } else {
          expect(cancel.status).toBe(409);
          expect(final).toMatchObject({ status: 'completed', credits_refunded: 0 });
          expect(await balanceOf(t, org)).toBe(0);
        }
      }
    });
  });

  describe('processing and downloads (SPEC §4.6–4.7)', () => {
    it('produces processed and processed-filtered files with the original columns, one row per distinct valid number', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const phones = validPhones(120, 20_000);
      const rows: unknown[][] = [['Name', 'Phone', 'Company', 'Score']];
      phones.forEach((p, i) => rows.push([i === 0 ? '=HYPERLINK("http://evil.example","click")' : `Name ${i}`, formatPhone(p, i), i === 1 ? '+danger' : i === 2 ? '-2' : i === 3 ? '@SUM(A1)' : 'Acme, Inc.', i]));
      rows.push(['Duplicate', phones[10], 'dup', 999]); // a later duplicate is dropped: the first occurrence wins
      for (const bad of INVALID_PHONES) rows.push(['Invalid', bad, 'x', 0]);
      const csv = csvText(rows, { bom: true });
      const created = await t.http.post('/api/v1/uploads').set(org.auth).field('phone_column', 'Phone').attach('file', Buffer.from(csv), { filename: 'crm export.csv', contentType: 'text/csv' }).expect(200);
      const id = created.body.id;

      // before completion: the original is downloadable, result files are 409
      for (const kind of ['processed', 'processed-filtered']) {
        const res = await t.http.get(`/api/v1/uploads/${id}/download/${kind}`).set(org.auth).expect(409);
        expect(res.body.detail).toMatchObject({ error: 'invalid_state', status: 'ready_for_processing' });
      }

      expect(await processor.processDueUploads()).toBeGreaterThanOrEqual(1);
      const u = await get(org, id);
      expect(u).toMatchObject({ status: 'completed', error_message: null });
      expect(u.processing_started_at).toMatch(ISO_MS);
      expect(u.completed_at).toMatch(ISO_MS);
      expect(typeof u.processed_storage_path).toBe('string');
      expect(typeof u.processed_filtered_storage_path).toBe('string');

      const processed = await download(t, org, id, 'processed');
      expect(processed.status).toBe(200);
      expect(processed.headers['content-type']).toMatch(/^text\/csv/);
      expect(processed.headers['content-disposition']).toMatch(/^attachment; filename="crm export-processed\.csv"/);
      const table = parseCsv(processed.body.toString('utf8'));
      expect(table[0]).toEqual(['Name', 'Phone', 'Company', 'Score', 'phone_e164', 'line_type', 'optimaldial_status']);
      const out = csvObjects(processed.body.toString('utf8'));
      expect(out).toHaveLength(120);
      const e164s = out.map((r) => r.phone_e164);
      expect(new Set(e164s).size).toBe(120);
      // spreadsheet safety: formulas and leading + - @ are neutralised with a quote (phone_e164 starts with + too)
      expect(out[0].Name).toBe(`'=HYPERLINK("http://evil.example","click")`);
      expect(out[1].Company).toBe("'+danger");
      expect(out[2].Company).toBe("'-2");
      expect(out[3].Company).toBe("'@SUM(A1)");
      expect(out[4].Company).toBe('Acme, Inc.');
      const statuses = new Set<string>();
      out.forEach((r, i) => {
        expect(r.phone_e164).toBe(`'${phones[i]}`);
        const expected = classifyOffline(phones[i]);
        expect(r.line_type).toBe(expected.line_type);
        expect(r.optimaldial_status).toBe(expected.status);
        statuses.add(r.optimaldial_status);
        expect(r.Score).toBe(String(i)); // the first occurrence, not the later duplicate row
      });
      expect(statuses.has('Likely Answer')).toBe(true);

      const filtered = await download(t, org, id, 'processed-filtered');
      expect(filtered.status).toBe(200);
      expect(filtered.headers['content-disposition']).toContain('crm export-processed-filtered.csv');
      const fout = csvObjects(filtered.body.toString('utf8'));
      expect(parseCsv(filtered.body.toString('utf8'))[0]).toEqual(table[0]);
      expect(fout).toEqual(out.filter((r) => r.optimaldial_status === 'Likely Answer'));
      expect(fout.length).toBeGreaterThan(0);
      expect(fout.length).toBeLessThan(120);

      // the original is still byte-identical
      expect((await download(t, org, id, 'original')).body.equals(Buffer.from(csv, 'utf8'))).toBe(true);
    });

    it('skip_mobile_lookup is passed to the classifier', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const spy = jest.spyOn(classifier, 'classify');
      const u = await create(org, { phone_numbers: validPhones(100), skip_mobile_lookup: true });
      await processor.processDueUploads();
      expect((await get(org, u.id)).status).toBe('completed');
      const call = spy.mock.calls.find((c) => c[0].includes(validPhones(1)[0]));
      expect(call?.[1]).toEqual({ skipMobileLookup: true });
    });

    it('signed URLs: no API key needed, {download_url, expires_at} one hour ahead; tampered or expired → 403', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org);
      await processor.processDueUploads();
      const res = await t.http.get(`/api/v1/uploads/${u.id}/download/processed`).set(org.auth).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['download_url', 'expires_at']);
      const { download_url: url, expires_at: expiresAt } = res.body;
      expect(url).toMatch(/^https?:\/\/[^/]+\/files\//);
      expect(typeof expiresAt).toBe('number');
      expect(Math.abs(expiresAt - (t.clock.nowMs() / 1000 + 3600))).toBeLessThan(5);
      expect((await fetchSigned(t, url)).status).toBe(200);

      const parsed = new URL(url);
      const sig = parsed.searchParams.get('signature')!;
      const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
      const variants = [
        url.replace(`signature=${sig}`, `signature=${flipped}`),
        url.replace(`signature=${sig}`, 'signature='),
        url.replace(/&signature=[^&]+/, ''),
        url.replace(`expires=${parsed.searchParams.get('expires')}`, `expires=${Number(parsed.searchParams.get('expires')) + 3600}`),
        url.replace('/processed?', '/original?'), // a signature for one file does not open another
        url.replace('/processed?', '/processed-filtered?'),
      ];
      for (const v of variants) {
        const r = await fetchSigned(t, v);
        expect(r.status).toBe(403);
        expect(r.json?.detail).toBeDefined();
      }
      // another upload's id with this signature
      const other = await create(org);
      expect((await fetchSigned(t, url.replace(u.id, other.id))).status).toBe(403);

      // expiry: valid a minute before, 403 after
      t.clock.advance(3540_000);
      expect((await fetchSigned(t, url)).status).toBe(200);
      t.clock.advance(61_000);
      const expired = await fetchSigned(t, url);
      expect(expired.status).toBe(403);
      expect(expired.json.detail).toMatchObject({ error: 'url_expired' });
      // a fresh URL works again
      const fresh = (await t.http.get(`/api/v1/uploads/${u.id}/download/processed`).set(org.auth).expect(200)).body.download_url;
      expect((await fetchSigned(t, fresh)).status).toBe(200);
    });

    it('a processing error → failed with a human-readable error_message (no path, no stack)', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org);
      rmSync(join(t.dataDir, 'files', u.storage_path));
      await processor.processDueUploads();
      const failed = await get(org, u.id);
      expect(failed.status).toBe('failed');
      expect(failed.completed_at).toMatch(ISO_MS);
      expect(typeof failed.error_message).toBe('string');
      expect(failed.error_message.length).toBeGreaterThan(10);
      expect(failed.error_message).not.toContain(t.dataDir);
      expect(failed.error_message).not.toMatch(/ENOENT|\bat\s+\S+\s*\(|\/tmp\//);
      expect(failed.processed_storage_path).toBeNull();
      // result files are not available, and the credits stay charged
      await t.http.get(`/api/v1/uploads/${u.id}/download/processed`).set(org.auth).expect(409);
      expect(await balanceOf(t, org)).toBe(900);
    });

    it('a failing classifier → failed; the partial result files are not left behind as results', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org);
      jest.spyOn(classifier, 'classify').mockRejectedValue(new Error('carrier lookup unavailable'));
      await processor.processDueUploads();
      const failed = await get(org, u.id);
      expect(failed).toMatchObject({ status: 'failed', processed_storage_path: null, processed_filtered_storage_path: null });
      expect(failed.error_message).toBe('Processing failed: carrier lookup unavailable');
      expect(storedFiles(t).filter((f) => f.includes(u.id))).toEqual([]);
      // the processor is not wedged by the failure: the next upload is processed normally
      jest.restoreAllMocks();
      const next = await create(org);
      await processor.processDueUploads();
      expect((await get(org, next.id)).status).toBe('completed');
    });
  });

  describe('crash recovery (SPEC §4.6)', () => {
    it('an upload stuck in processing is picked up again once its lease expires', async () => {
      const org = await t.createOrganization({ credits: 1000 });
      const u = await create(org);
      const now = t.clock.nowMs();
      // a worker claimed it a minute ago and died; its lease runs for another minute
      const db = t.get(DatabaseService);
      await db.transaction((m) =>
        db.execute(m, db.sql`UPDATE uploads SET status = 'processing', locked_by = ${'dead-worker:1'}, locked_until = ${now + 60_000}, processing_started_at = ${now - 60_000} WHERE id = ${u.id}`),
      );
      await processor.processDueUploads();
      expect(await get(org, u.id)).toMatchObject({ status: 'processing' });
      await t.http.delete(`/api/v1/uploads/${u.id}`).set(org.auth).expect(409);
      t.clock.advance(61_000);
      await processor.processDueUploads();
      const done = await get(org, u.id);
      expect(done.status).toBe('completed');
      expect(done.processing_started_at).toBe(new Date(now - 60_000).toISOString());
      expect((await download(t, org, u.id, 'processed')).status).toBe(200);
    });
  });

  describe('daily row limit (SPEC §4.3)', () => {
    it('parallel uploads: the flag is decided on the committed total, never both under the limit', async () => {
      const org = await t.createOrganization({ credits: 10_000 });
      await t.get(AuthService).updateOrganization(org.organizationId, { dailyRowLimit: 250 });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => postJson(org, { phone_numbers: validPhones(100, i * 100) })));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const flags = results.map((r) => r.body.exceeded_daily_limit);
      expect(flags.filter((f) => f === false)).toHaveLength(2);
      expect(await balanceOf(t, org)).toBe(10_000 - 600);
      // cancel them so the daily test below starts from a clean day for this org
      for (const r of results) await t.http.delete(`/api/v1/uploads/${r.body.id}`).set(org.auth).expect(200);
    });

    it('over the limit: accepted, charged, flagged, and processed only on the next UTC day', async () => {
      const org = await t.createOrganization({ credits: 10_000 });
      await t.get(AuthService).updateOrganization(org.organizationId, { dailyRowLimit: 250 });
      const a = await create(org, { phone_numbers: validPhones(150) });
      expect(a.exceeded_daily_limit).toBe(false);
      const b = await create(org, { phone_numbers: validPhones(101) });
      expect(b).toMatchObject({ exceeded_daily_limit: true, status: 'ready_for_processing', credits_charged: 101 });
      expect(await balanceOf(t, org)).toBe(10_000 - 251);
      // a cancelled upload frees its rows for the day
      await t.http.delete(`/api/v1/uploads/${b.id}`).set(org.auth).expect(200);
      const c = await create(org, { phone_numbers: validPhones(100) });
      expect(c.exceeded_daily_limit).toBe(false);
      const d = await create(org, { phone_numbers: validPhones(100) });
      expect(d.exceeded_daily_limit).toBe(true);

      await processor.processDueUploads();
      expect((await get(org, a.id)).status).toBe('completed');
      expect((await get(org, c.id)).status).toBe('completed');
      expect((await get(org, d.id)).status).toBe('ready_for_processing');

      // the next UTC day
      const now = t.clock.nowMs();
      const nextDay = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1);
      t.clock.advance(nextDay - now - 1000);
      await processor.processDueUploads();
      expect((await get(org, d.id)).status).toBe('ready_for_processing');
      t.clock.advance(2000);
      await processor.processDueUploads();
      expect((await get(org, d.id)).status).toBe('completed');
      // a new day has a fresh allowance
      const e = await create(org, { phone_numbers: validPhones(250) });
      expect(e.exceeded_daily_limit).toBe(false);
      expect((await uploadsOf(t, org)).length).toBe(5);
    });
  });
});
