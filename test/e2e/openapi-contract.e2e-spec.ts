/**
 * The document tells the truth (SPEC §1, issue 13): a sweep over every operation of /docs-json and every status
 * it documents. Each answer is validated by openapi-enforcer against the document (status documented, body on
 * its schema with no undocumented field, every required header present and well-formed), and at the end every
 * documented (operation, status) pair must have been produced at least once — the document neither hides an
 * answer nor promises one the service never gives.
 */
import { randomUUID } from 'node:crypto';
import { AuthService } from '../../src/auth/auth.service';
import { DatabaseService } from '../../src/database/database.service';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { Contract } from '../support/contract';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { DeliveryHarness, respondWith } from './deliveries.helpers';

const PER_KEY = 25;
/** A body the operation accepts, so that the answer under test is the one for the path (404), not for the body. */
const VALID_BODIES: Record<string, unknown> = {
  recoverWebhookDeliveries: { since: new Date(0).toISOString() },
  sendWebhookTestEvent: { event_type: 'upload.completed' },
  updateWebhook: { description: 'x' },
};

describe('every operation, every documented status, checked against /docs-json (openapi-enforcer)', () => {
  let t: TestApp;
  let h: DeliveryHarness;
  let contract: Contract;
  let receiver: Receiver;
  let org: TestOrg;
  const problems: string[] = [];
  const seen = new Map<string, Set<number>>();
  const ops: Array<{ method: string; path: string; operationId: string; statuses: number[] }> = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, RATE_LIMIT_PER_KEY: String(PER_KEY), RATE_LIMIT_PER_ORGANIZATION: '100000' } });
    h = new DeliveryHarness(t);
    receiver = await h.receiver();
    receiver.respond = respondWith(200);
    org = await t.createOrganization({ credits: 100_000 });
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    contract = await Contract.load(doc);
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        ops.push({ method: method.toUpperCase(), path, operationId: op.operationId, statuses: Object.keys(op.responses).map(Number) });
      }
    }
  }, 120_000);
  afterAll(async () => {
    await h?.cleanup();
    await t?.close();
  });

  /** Sends one request, validates the answer against the document, records the (operation, status) pair. */
  async function call(
    method: string,
    path: string,
    opts: { auth?: { Authorization: string } | null; body?: unknown; raw?: { type: string; data: string | Buffer }; expect?: number } = {},
  ): Promise<{ status: number; body: any; headers: Record<string, string> }> {
    const agent = t.http as unknown as Record<string, (u: string) => any>;
    let r = agent[method.toLowerCase()](path);
    const auth = opts.auth === undefined ? org.auth : opts.auth;
    if (auth) r = r.set(auth);
    if (opts.raw) r = r.set('Content-Type', opts.raw.type).send(opts.raw.data);
    else if (opts.body !== undefined) r = r.send(opts.body);
    const res = await r.ok(() => true);
    const body = /json/.test(String(res.headers['content-type'])) ? res.body : res.text;
    const found = contract.check(method, path, { status: res.status, headers: res.headers, body });
    problems.push(...found.map((p) => `${method} ${path}: ${p}`));
    const op = contract.operation(method, path);
    if (op) {
      if (!seen.has(op.operationId)) seen.set(op.operationId, new Set());
      seen.get(op.operationId)!.add(res.status);
    }
    if (opts.expect !== undefined && res.status !== opts.expect) problems.push(`${method} ${path}: expected ${opts.expect}, got ${res.status} ${res.text.slice(0, 200)}`);
    return { status: res.status, body: res.body, headers: res.headers };
  }

  const pathOf = (template: string, ids: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, k: string) => ids[k] ?? randomUUID());

  it('sweeps every operation through every documented status', async () => {
    // fixtures: an endpoint with three deliveries, a completed upload and a fresh one (with a per-request webhook)
    const endpoint = await call('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/hook`, events: ['upload.completed', 'upload.created'] }, expect: 200 });
    const id = endpoint.body.webhook.id as string;
    const completed = (await call('POST', '/api/v1/uploads', { body: { phone_numbers: validPhones(100) }, expect: 200 })).body.id as string;
    await t.get(UploadProcessor).processDueUploads();
    const fresh = (await call('POST', '/api/v1/uploads', { body: { phone_numbers: validPhones(100, 500), webhook: { url: `${receiver.url}/once`, delay: 60 } }, expect: 202 })).body.id as string;
    await h.drain();
    const [delivery] = (await t.http.get(`/api/v1/webhooks/${id}/deliveries?limit=1`).set(org.auth).expect(200)).body;
    const ids = { id, deliveryId: delivery.id, kind: 'processed' };

    // success answers, one per operation (each write on the org key, windows reset between phases by the clock)
    await call('GET', '/api/v1/me', { expect: 200 });
    await call('GET', '/api/v1/webhooks', { expect: 200 });
    await call('GET', `/api/v1/webhooks/${id}`, { expect: 200 });
    await call('PATCH', `/api/v1/webhooks/${id}`, { body: { description: null, events: ['upload.completed'] }, expect: 200 });
    await call('POST', `/api/v1/webhooks/${id}/rotate-secret`, { expect: 200 });
    await call('GET', `/api/v1/webhooks/${id}/stats?hours=24`, { expect: 200 });
    const page = await call('GET', `/api/v1/webhooks/${id}/deliveries?limit=1`, { expect: 200 });
    expect(page.headers['x-next-cursor']).toEqual(expect.any(String)); // two deliveries, one per page
    await call('POST', `/api/v1/webhooks/${id}/deliveries/${delivery.id}/retry`, { expect: 200 });
    await h.drain();
    await call('POST', `/api/v1/webhooks/${id}/recover`, { body: { since: new Date(0).toISOString() }, expect: 200 });
    await call('POST', `/api/v1/webhooks/${id}/test`, { body: { event_type: 'upload.completed' }, expect: 200 });
    await h.drain();
    await call('GET', '/api/v1/deliveries?limit=1', { expect: 200 });
    await call('GET', `/api/v1/deliveries/${delivery.id}`, { expect: 200 });
    await call('GET', '/api/v1/uploads?limit=1', { expect: 200 });
    await call('GET', `/api/v1/uploads/${completed}`, { expect: 200 });
    await call('GET', `/api/v1/uploads/${completed}/download/processed`, { expect: 200 });
    await call('DELETE', `/api/v1/uploads/${fresh}`, { expect: 200 });
    // contacts (SPEC §11): the organization has the feature from here on
    await t.get(AuthService).setFeatures(org.organizationId, { enable: ['single_contact_api'] });
    const contact = (await call('POST', '/api/v1/contacts', { body: { phone: validPhones(1, 900)[0] }, expect: 200 })).body.id as string;
    await call('POST', '/api/v1/contacts', { body: { phone: validPhones(1, 901)[0], callback_url: `${receiver.url}/contact` }, expect: 202 });
    await call('GET', '/api/v1/contacts?limit=1', { expect: 200 });
    await call('GET', `/api/v1/contacts/${contact}`, { expect: 200 });
    await call('DELETE', `/api/v1/contacts/${contact}`, { expect: 200 });
    t.clock.advance(61_000);

    // route-specific errors
    const broke = await t.createOrganization({ credits: 0 });
    const inactive = await t.createOrganization({ credits: 1000, subscription: 'inactive' });
    await call('POST', '/api/v1/uploads', { auth: broke.auth, body: { phone_numbers: validPhones(100) }, expect: 402 });
    await call('POST', '/api/v1/uploads', { auth: inactive.auth, body: { phone_numbers: validPhones(100) }, expect: 403 });
    await call('POST', '/api/v1/uploads', { raw: { type: 'text/plain', data: 'phone\n+14152345678' }, expect: 415 });
    await call('POST', '/api/v1/uploads', { body: { phone_numbers: validPhones(5) }, expect: 422 });
    await call('POST', '/api/v1/uploads', { body: { phone_numbers: new Array(250_001).fill('1') }, expect: 413 });
    await call('DELETE', `/api/v1/uploads/${fresh}`, { expect: 409 }); // cancelled already
    await call('DELETE', `/api/v1/contacts/${contact}`, { expect: 409 }); // discarded already
    await call('POST', '/api/v1/contacts', { body: { phone: '555' }, expect: 422 });
    await call('POST', '/api/v1/contacts', { body: { phone: 5 }, expect: 400 });
    await call('POST', '/api/v1/contacts', { raw: { type: 'text/plain', data: 'phone' }, expect: 415 });
    await t.get(AuthService).setFeatures(broke.organizationId, { enable: ['single_contact_api'] });
    await call('POST', '/api/v1/contacts', { auth: broke.auth, body: { phone: validPhones(1, 902)[0] }, expect: 402 });
    await call('GET', `/api/v1/uploads/${fresh}/download/processed`, { expect: 409 });
    await call('POST', '/api/v1/webhooks', { body: { url: 'https://127.0.0.1/' }, expect: 400 });
    const off = await call('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/off` }, expect: 200 });
    await call('PATCH', `/api/v1/webhooks/${off.body.webhook.id}`, { body: { is_active: false }, expect: 200 });
    await call('POST', `/api/v1/webhooks/${off.body.webhook.id}/test`, { body: { event_type: 'upload.completed' }, expect: 409 });
    await call('DELETE', `/api/v1/webhooks/${off.body.webhook.id}`, { expect: 200 });
    const db = t.get(DatabaseService);
    await db.transaction((m) => db.execute(m, db.sql`UPDATE deliveries SET status = ${'in_flight'} WHERE id = ${delivery.id}`));
    await call('POST', `/api/v1/webhooks/${id}/deliveries/${delivery.id}/retry`, { expect: 409 });
    await db.transaction((m) => db.execute(m, db.sql`UPDATE deliveries SET status = ${'delivered'} WHERE id = ${delivery.id}`));
    t.clock.advance(61_000);

    // the statuses every operation shares, generated from the document itself
    const auth = t.get(AuthService);
    const noScope = (await auth.mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['uploads:read'] })).apiKey;
    const noWebhooks = { Authorization: `Bearer ${noScope}` };
    const noUploads = { Authorization: `Bearer ${(await auth.mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['webhooks:manage'] })).apiKey}` };
    const onlyUploadsWrite = { Authorization: `Bearer ${(await auth.mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['uploads:write'] })).apiKey}` };
    for (const op of ops.filter((o) => o.path.startsWith('/api/v1'))) {
      const path = pathOf(op.path, ids);
      const write = !['GET', 'HEAD'].includes(op.method);
      await call(op.method, path, { auth: null, expect: 401 });
      await call(op.method, path, { raw: { type: 'application/json', data: '{"url": ' }, expect: 400 });
      const big = op.path === '/api/v1/uploads' && op.method === 'POST' ? null : JSON.stringify({ description: 'x'.repeat(1024 * 1024 + 10) });
      if (big) await call(op.method, path, { raw: { type: 'application/json', data: big }, expect: 413 });
      if (op.statuses.includes(403) && op.operationId !== 'createUpload') {
        // a key of the same organization without the scope the route needs
        const lacking = op.path.startsWith('/api/v1/uploads') || op.path.startsWith('/api/v1/contacts') ? noUploads : op.path.startsWith('/api/v1/deliveries') ? onlyUploadsWrite : noWebhooks;
        await call(op.method, path, { auth: lacking, expect: 403 });
      }
      if (op.path.includes('{')) await call(op.method, pathOf(op.path, { kind: 'processed' }), { body: VALID_BODIES[op.operationId], expect: 404 });
      if (write) {
        // a key of its own, worn out by refused writes, then one more
        const key = { Authorization: `Bearer ${(await auth.mintKey({ organizationId: org.organizationId, userId: org.userId })).apiKey}` };
        for (let i = 0; i < PER_KEY; i++) await t.http.delete(`/api/v1/uploads/${randomUUID()}`).set(key);
        await call(op.method, path, { auth: key, expect: 429 });
      }
      // 500: an unexpected failure where every operation starts, the key lookup
      const spy = jest.spyOn(auth, 'authenticate').mockRejectedValueOnce(new Error('injected failure'));
      const failed = await call(op.method, path, { expect: 500 });
      spy.mockRestore();
      expect(failed.body).toEqual({ detail: { error: 'internal_error', request_id: failed.headers['x-request-id'] } });
      t.clock.advance(61_000);
    }

    // every documented status was produced at least once, and nothing else was answered
    const unproduced: string[] = [];
    for (const op of ops.filter((o) => o.path.startsWith('/api/v1'))) {
      for (const s of op.statuses) if (!seen.get(op.operationId)?.has(s)) unproduced.push(`${op.operationId} ${s}`);
    }
    expect(problems).toEqual([]);
    expect(unproduced).toEqual([]);
  }, 600_000);
});
