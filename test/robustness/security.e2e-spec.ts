/**
 * Security checks (issue 9, SPEC §2–§3, §8):
 *  - cross-organization access on every route, with ids taken from the other organization: 404, never the
 *    resource, no byte of the other organization's data in the body, and nothing changed;
 *  - an expired key, a revoked key and the key of a removed user: 401 on every route;
 *  - the scope matrix: each of the three scopes alone against every route, allowed or 403 insufficient_scope
 *    exactly as SPEC §3.2 says;
 *  - log hygiene: one service process at LOG_LEVEL=trace through a whole flow (organization created by the CLI,
 *    endpoint registered with URL credentials, secret rotated, uploads with a per-request secret, deliveries
 *    signed and sent, a signed download, bad keys); no API key, webhook secret (old or new), per-request secret,
 *    signature value, Authorization value, URL password or download signature appears in any log line.
 *
 * Every route of /docs-json must be in the route table below: a new route fails the suite until it is covered.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { AuthService } from '../../src/auth/auth.service';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { cliRun, serviceEnvironment, sleep, waitFor } from './support';

type Scope = 'uploads:write' | 'uploads:read' | 'webhooks:manage';
const SCOPES: Scope[] = ['uploads:write', 'uploads:read', 'webhooks:manage'];

interface Fixture {
  org: TestOrg;
  webhook: string;
  webhookUrl: string;
  upload: string; // completed
  testDelivery: string; // an endpoint delivery of a test event (no upload)
  uploadDelivery: string; // a delivery about an upload
  cursor: string;
  contact: string; // the organization has the Contacts feature (SPEC §11)
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
}

/** A route of the document, how to call it on a fixture, and who may (SPEC §3.2). */
interface RouteCase {
  route: string;
  variant?: string;
  call: (f: Fixture) => Promise<Call> | Call;
  /** Scopes that allow it; empty = any valid key. */
  allowedBy: Scope[];
  /** The route names a resource by id: another organization's key gets 404. */
  byId: boolean;
}

describe('security: cross-organization access, dead keys, the scope matrix, log hygiene', () => {
  let t: TestApp;
  let auth: AuthService;
  let receiver: Receiver;
  let A: Fixture;
  let B: Fixture;
  let phoneSeq = 0;
  let documented: string[] = [];

  beforeAll(async () => {
    receiver = await Receiver.http();
    t = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, RATE_LIMIT_PER_KEY: '100000', RATE_LIMIT_PER_ORGANIZATION: '100000' } });
    auth = t.get(AuthService);
    A = await fixture();
    B = await fixture();
    const doc = await t.http.get('/docs-json').expect(200);
    documented = Object.entries<Record<string, unknown>>(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const charged = new Map<string, number>(); // credits the helpers spent, per organization
  async function newUpload(org: TestOrg): Promise<string> {
    const res = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(100, (phoneSeq += 1000)) });
    if (res.status !== 200) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
    charged.set(org.organizationId, (charged.get(org.organizationId) ?? 0) + res.body.credits_charged);
    return res.body.id;
  }

  async function newContact(org: TestOrg): Promise<string> {
    const res = await t.http.post('/api/v1/contacts').set(org.auth).send({ phone: validPhones(1, (phoneSeq += 1000))[0] });
    if (res.status !== 200) throw new Error(`contact: ${res.status} ${JSON.stringify(res.body)}`);
    charged.set(org.organizationId, (charged.get(org.organizationId) ?? 0) + 1);
    return res.body.id;
  }

  async function newWebhook(org: TestOrg, path = '/hook'): Promise<{ id: string; url: string; secret: string }> {
    const url = `${receiver.url}${path}/${org.organizationId}`;
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url, events: ['upload.created', 'upload.completed', 'upload.failed'] });
    if (res.status !== 200) throw new Error(`webhook: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.webhook.id, url, secret: res.body.secret };
  }

  async function fixture(): Promise<Fixture> {
    const org = await t.createOrganization({ credits: 1_000_000 });
    const hook = await newWebhook(org);
    const upload = await newUpload(org);
    await newUpload(org); // a second one, so the first page has a cursor
    await t.get(UploadProcessor).processDueUploads();
    const test = await t.http.post(`/api/v1/webhooks/${hook.id}/test`).set(org.auth).send({ event_type: 'upload.completed' }).expect(200);
    const about = await t.http.get(`/api/v1/deliveries?upload_id=${upload}`).set(org.auth).expect(200);
    const cursor = (await t.http.get('/api/v1/uploads?limit=1').set(org.auth).expect(200)).body.next_cursor;
    await auth.setFeatures(org.organizationId, { enable: ['single_contact_api'] });
    const contact = await newContact(org);
    return { org, webhook: hook.id, webhookUrl: hook.url, upload, testDelivery: test.body.delivery_id, uploadDelivery: about.body.data[0].id, cursor, contact };
  }

  const ALL_EVENTS = { event_type: 'upload.completed' };
  const ROUTES: RouteCase[] = [
    { route: 'GET /api/v1/me', call: () => ({ method: 'GET', path: '/api/v1/me' }), allowedBy: [], byId: false },
    { route: 'POST /api/v1/webhooks', call: (f) => ({ method: 'POST', path: '/api/v1/webhooks', body: { url: `${receiver.url}/created` } }), allowedBy: ['webhooks:manage'], byId: false },
    { route: 'GET /api/v1/webhooks', call: () => ({ method: 'GET', path: '/api/v1/webhooks' }), allowedBy: ['webhooks:manage'], byId: false },
    { route: 'GET /api/v1/webhooks/{id}', call: (f) => ({ method: 'GET', path: `/api/v1/webhooks/${f.webhook}` }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'PATCH /api/v1/webhooks/{id}', call: (f) => ({ method: 'PATCH', path: `/api/v1/webhooks/${f.webhook}`, body: { description: 'patched' } }), allowedBy: ['webhooks:manage'], byId: true },
    {
      route: 'DELETE /api/v1/webhooks/{id}',
      // a throwaway endpoint of the fixture's organization, so an allowed call deletes nothing that matters
      call: async (f) => ({ method: 'DELETE', path: `/api/v1/webhooks/${(await newWebhook(f.org, '/throwaway')).id}` }),
      allowedBy: ['webhooks:manage'],
      byId: true,
    },
    { route: 'POST /api/v1/webhooks/{id}/rotate-secret', call: (f) => ({ method: 'POST', path: `/api/v1/webhooks/${f.webhook}/rotate-secret` }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'GET /api/v1/webhooks/{id}/stats', call: (f) => ({ method: 'GET', path: `/api/v1/webhooks/${f.webhook}/stats?hours=24` }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'POST /api/v1/contacts', call: () => ({ method: 'POST', path: '/api/v1/contacts', body: { phone: validPhones(1, (phoneSeq += 1000))[0] } }), allowedBy: ['uploads:write'], byId: false },
    { route: 'GET /api/v1/contacts', call: () => ({ method: 'GET', path: '/api/v1/contacts?limit=100' }), allowedBy: ['uploads:read'], byId: false },
    { route: 'GET /api/v1/contacts/{id}', call: (f) => ({ method: 'GET', path: `/api/v1/contacts/${f.contact}` }), allowedBy: ['uploads:read'], byId: true },
    { route: 'DELETE /api/v1/contacts/{id}', call: async (f) => ({ method: 'DELETE', path: `/api/v1/contacts/${await newContact(f.org)}` }), allowedBy: ['uploads:write'], byId: true },
    { route: 'GET /api/v1/webhooks/{id}/deliveries', call: (f) => ({ method: 'GET', path: `/api/v1/webhooks/${f.webhook}/deliveries?limit=100` }), allowedBy: ['webhooks:manage'], byId: true },
    {
      route: 'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/retry',
      call: (f) => ({ method: 'POST', path: `/api/v1/webhooks/${f.webhook}/deliveries/${f.testDelivery}/retry` }),
      allowedBy: ['webhooks:manage'],
      byId: true,
    },
    { route: 'POST /api/v1/webhooks/{id}/recover', call: (f) => ({ method: 'POST', path: `/api/v1/webhooks/${f.webhook}/recover`, body: { since: new Date(Date.now() - 3600_000).toISOString() } }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'POST /api/v1/webhooks/{id}/test', call: (f) => ({ method: 'POST', path: `/api/v1/webhooks/${f.webhook}/test`, body: ALL_EVENTS }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'GET /api/v1/deliveries', variant: 'all', call: () => ({ method: 'GET', path: '/api/v1/deliveries?limit=100' }), allowedBy: ['webhooks:manage'], byId: false },
    { route: 'GET /api/v1/deliveries', variant: 'about an upload', call: (f) => ({ method: 'GET', path: `/api/v1/deliveries?upload_id=${f.upload}` }), allowedBy: ['webhooks:manage', 'uploads:read'], byId: false },
    { route: 'GET /api/v1/deliveries/{id}', variant: 'of a test event', call: (f) => ({ method: 'GET', path: `/api/v1/deliveries/${f.testDelivery}` }), allowedBy: ['webhooks:manage'], byId: true },
    { route: 'GET /api/v1/deliveries/{id}', variant: 'about an upload', call: (f) => ({ method: 'GET', path: `/api/v1/deliveries/${f.uploadDelivery}` }), allowedBy: ['webhooks:manage', 'uploads:read'], byId: true },
    { route: 'POST /api/v1/uploads', call: () => ({ method: 'POST', path: '/api/v1/uploads', body: { phone_numbers: validPhones(100, (phoneSeq += 1000)) } }), allowedBy: ['uploads:write'], byId: false },
    { route: 'GET /api/v1/uploads', call: () => ({ method: 'GET', path: '/api/v1/uploads?limit=100' }), allowedBy: ['uploads:read'], byId: false },
    { route: 'GET /api/v1/uploads', variant: "with the other organization's cursor", call: (f) => ({ method: 'GET', path: `/api/v1/uploads?cursor=${f.cursor}` }), allowedBy: ['uploads:read'], byId: false },
    { route: 'GET /api/v1/uploads/{id}', call: (f) => ({ method: 'GET', path: `/api/v1/uploads/${f.upload}` }), allowedBy: ['uploads:read'], byId: true },
    { route: 'DELETE /api/v1/uploads/{id}', call: async (f) => ({ method: 'DELETE', path: `/api/v1/uploads/${await newUpload(f.org)}` }), allowedBy: ['uploads:write'], byId: true },
    ...(['original', 'processed', 'processed-filtered'] as const).map(
      (kind): RouteCase => ({ route: 'GET /api/v1/uploads/{id}/download/{kind}', variant: kind, call: (f) => ({ method: 'GET', path: `/api/v1/uploads/${f.upload}/download/${kind}` }), allowedBy: ['uploads:read'], byId: true }),
    ),
  ];

  const label = (r: RouteCase) => `${r.route}${r.variant ? ` (${r.variant})` : ''}`;

  function send(c: Call, headers: Record<string, string>) {
    const agent = t.http as unknown as Record<string, (p: string) => request.Test>;
    const r = agent[c.method.toLowerCase()](c.path).set(headers);
    return c.body === undefined ? r : r.send(c.body as object);
  }

  /** Strings that identify a fixture's organization and must never reach anyone else. */
  function secretsOf(f: Fixture): string[] {
    return [f.org.organizationId, f.org.userId, f.webhook, f.webhookUrl, f.upload, f.testDelivery, f.uploadDelivery, f.contact, f.org.apiKey];
  }

  it('every documented route is in the route table', () => {
    const covered = new Set(ROUTES.map((r) => r.route));
    expect(documented.filter((r) => !covered.has(r))).toEqual([]);
    expect([...covered].filter((r) => !documented.includes(r))).toEqual([]);
  });

  it("cross-organization: every route with the other organization's ids answers 404 and shows nothing of it", async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [owner, intruder] of [
      [A, B],
      [B, A],
    ] as const) {
      const before = {
        webhook: (await t.http.get(`/api/v1/webhooks/${owner.webhook}`).set(owner.org.auth).expect(200)).body,
        upload: (await t.http.get(`/api/v1/uploads/${owner.upload}`).set(owner.org.auth).expect(200)).body,
        delivery: (await t.http.get(`/api/v1/deliveries/${owner.testDelivery}`).set(owner.org.auth).expect(200)).body,
      };
      const balanceBefore = (await t.http.get('/api/v1/me').set(owner.org.auth).expect(200)).body.organization.credits_balance;
      const spentBefore = charged.get(owner.org.organizationId) ?? 0;
      const forbidden = secretsOf(owner);
      for (const r of ROUTES) {
        const c = await r.call(owner); // the owner's ids...
        const res = await send(c, intruder.org.auth); // ...with the intruder's key
        checked++;
        const text = JSON.stringify(res.body);
        const leaked = forbidden.filter((s) => text.includes(s));
        if (leaked.length) problems.push(`${label(r)}: the body shows the other organization's ${leaked.join(', ')}`);
        if (r.byId) {
          if (res.status !== 404) problems.push(`${label(r)}: ${res.status}, expected 404 (${JSON.stringify(res.body).slice(0, 200)})`);
          else if (typeof res.body.detail !== 'string' && typeof res.body.detail?.error !== 'string') problems.push(`${label(r)}: 404 without the §2 envelope`);
        } else if (res.status >= 500) problems.push(`${label(r)}: ${res.status}`);
      }
      // an upload id of the other organization as a filter: an empty page, not its deliveries
      const filtered = await t.http.get(`/api/v1/deliveries?upload_id=${owner.upload}`).set(intruder.org.auth);
      checked++;
      if (!(filtered.status === 200 && filtered.body.data.length === 0) && filtered.status !== 404) problems.push(`deliveries?upload_id of the other organization: ${filtered.status} ${JSON.stringify(filtered.body).slice(0, 200)}`);
      // mixed ids: the intruder's own endpoint with the owner's delivery
      const mixed = await t.http.post(`/api/v1/webhooks/${intruder.webhook}/deliveries/${owner.testDelivery}/retry`).set(intruder.org.auth);
      checked++;
      if (mixed.status !== 404) problems.push(`retry of the other organization's delivery through one's own endpoint: ${mixed.status}`);
      // the signed download route is public by design; its URL is only ever given to the owner
      // nothing of the owner's changed
      const after = {
        webhook: (await t.http.get(`/api/v1/webhooks/${owner.webhook}`).set(owner.org.auth).expect(200)).body,
        upload: (await t.http.get(`/api/v1/uploads/${owner.upload}`).set(owner.org.auth).expect(200)).body,
        delivery: (await t.http.get(`/api/v1/deliveries/${owner.testDelivery}`).set(owner.org.auth).expect(200)).body,
      };
      const balanceAfter = (await t.http.get('/api/v1/me').set(owner.org.auth).expect(200)).body.organization.credits_balance;
      const spent = (charged.get(owner.org.organizationId) ?? 0) - spentBefore;
      if (balanceAfter !== balanceBefore - spent) problems.push(`the owner's balance went ${balanceBefore} → ${balanceAfter}, its own uploads spent ${spent}`);
      const throwaways = await t.http.get('/api/v1/webhooks').set(owner.org.auth).expect(200);
      if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`the owner's resources changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      // the throwaway endpoint the DELETE case made still exists (it was not deleted by the intruder)
      if (!throwaways.body.some((w: { url: string }) => w.url.includes('/throwaway/'))) problems.push('the intruder deleted a throwaway endpoint of the owner');
    }
    process.stderr.write(`security: ${checked} cross-organization requests over ${ROUTES.length} route cases, ${problems.length} problems\n`);
    expect(problems).toEqual([]);
  });

  it('an expired key, a revoked key and a removed user’s key get 401 on every route', async () => {
    const owner2 = await auth.addUser(A.org.organizationId, `second-owner-${Date.now()}@example.com`, 'owner');
    const removedUsersKey = (await auth.mintKey({ organizationId: A.org.organizationId, userId: owner2.id, name: 'to be removed' })).apiKey;
    const revoked = await auth.mintKey({ organizationId: A.org.organizationId, userId: A.org.userId, name: 'to be revoked' });
    const expiring = (await auth.mintKey({ organizationId: A.org.organizationId, userId: A.org.userId, name: 'expiring', expiresAt: new Date(t.clock.nowMs() + 60_000) })).apiKey;
    // all three work before
    for (const k of [removedUsersKey, revoked.apiKey, expiring]) await t.http.get('/api/v1/me').set({ Authorization: `Bearer ${k}` }).expect(200);
    await auth.removeUser(owner2.id);
    await auth.revokeKey(revoked.key.id);
    t.clock.advance(61_000);
    const problems: string[] = [];
    let checked = 0;
    try {
      for (const [name, key, message] of [
        ['expired', expiring, /expired/],
        ['revoked', revoked.apiKey, /revoked/],
        ["removed user's", removedUsersKey, /revoked/],
      ] as const) {
        for (const r of ROUTES) {
          const res = await send(await r.call(A), { Authorization: `Bearer ${key}` });
          checked++;
          if (res.status !== 401 || res.headers['www-authenticate'] !== 'Bearer' || !message.test(String(res.body.detail))) {
            problems.push(`${name} key on ${label(r)}: ${res.status} ${JSON.stringify(res.body).slice(0, 150)}`);
          }
        }
      }
    } finally {
      t.clock.advance(-61_000);
    }
    process.stderr.write(`security: ${checked} requests with dead keys, ${problems.length} problems\n`);
    expect(problems).toEqual([]);
  });

  it('the scope matrix: each scope alone, every route, allowed or 403 insufficient_scope as SPEC §3.2 says', async () => {
    const keys = {} as Record<Scope, Record<string, string>>;
    for (const s of SCOPES) keys[s] = { Authorization: `Bearer ${(await auth.mintKey({ organizationId: A.org.organizationId, userId: A.org.userId, scopes: [s] })).apiKey}` };
    const problems: string[] = [];
    const matrix: string[] = [];
    for (const r of ROUTES) {
      const row: string[] = [];
      for (const s of SCOPES) {
        const allowed = r.allowedBy.length === 0 || r.allowedBy.includes(s);
        const res = await send(await r.call(A), keys[s]);
        row.push(`${s}=${res.status}`);
        if (allowed) {
          if (res.status === 401 || res.status === 403 || res.status >= 500) problems.push(`${label(r)} with ${s}: ${res.status}, expected it allowed (${JSON.stringify(res.body).slice(0, 150)})`);
          else if (res.status >= 300 && !(r.route === 'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/retry' && res.status === 409)) {
            problems.push(`${label(r)} with ${s}: ${res.status} (${JSON.stringify(res.body).slice(0, 150)})`);
          }
        } else {
          const d = res.body.detail;
          if (res.status !== 403 || d?.error !== 'insufficient_scope' || !r.allowedBy.includes(d?.required_scope)) {
            problems.push(`${label(r)} with ${s}: ${res.status} ${JSON.stringify(res.body).slice(0, 150)}, expected 403 insufficient_scope requiring ${r.allowedBy.join(' or ')}`);
          }
        }
      }
      matrix.push(`  ${label(r).padEnd(72)} ${row.join('  ')}`);
    }
    process.stderr.write(`security: scope matrix (${ROUTES.length} route cases × ${SCOPES.length} scopes)\n${matrix.join('\n')}\n`);
    expect(problems).toEqual([]);
  });

  it('log hygiene: at LOG_LEVEL=trace, no key, secret, signature or credential reaches a log line', async () => {
    const envInfo = await serviceEnvironment('logs');
    const hookReceiver = await Receiver.http();
    let service: ServiceProcess | null = null;
    try {
      const env = {
        ...envInfo.env,
        ...LOCAL_DELIVERY_ENV,
        LOG_LEVEL: 'trace',
        DELIVERY_PROCESSOR_ENABLED: 'true',
        UPLOAD_PROCESSOR_ENABLED: 'true',
        DELIVERY_TICK_MS: '200',
        UPLOAD_TICK_MS: '200',
      };
      // the CLI prints a new key once, on stdout, by design; its log lines (stderr) must not carry it
      const createdRun = await cliRun(env, ['org:create', '--name', 'Logs', '--owner-email', 'logs@example.com', '--credits', '10000']);
      const created = createdRun.out;
      const apiKey: string = created.api_key;
      const mintedRun = await cliRun(env, ['key:create', '--org', created.organization.id, '--user', created.user.id, '--name', 'second']);
      const minted = mintedRun.out;
      const cliLogs = [...createdRun.stderr.split('\n'), ...mintedRun.stderr.split('\n')].filter(Boolean);
      service = await ServiceProcess.start(env, await freePort());
      const http = request(service.baseUrl);
      const H = { Authorization: `Bearer ${apiKey}` };

      // an endpoint with credentials in its URL (sent as Basic auth)
      const urlPassword = 'url-Pa55word-7c1e';
      const hookUrl = hookReceiver.url.replace('http://', `http://hookuser:${urlPassword}@`) + '/hook';
      const hook = await http.post('/api/v1/webhooks').set(H).send({ url: hookUrl, events: ['upload.created', 'upload.completed', 'upload.failed'] }).expect(200);
      const oldSecret: string = hook.body.secret;
      const rotated = await http.post(`/api/v1/webhooks/${hook.body.webhook.id}/rotate-secret`).set(H).expect(200);
      const newSecret: string = rotated.body.secret;
      const perRequestSecret = 'per-request-secret-4f2a9b7e';
      const up = await http
        .post('/api/v1/uploads')
        .set({ Authorization: `Bearer ${minted.api_key}` })
        .send({ phone_numbers: validPhones(120, 5_000_000), webhook: { url: `${hookReceiver.url}/per-request`, secret: perRequestSecret } })
        .expect(202);
      await http.post(`/api/v1/webhooks/${hook.body.webhook.id}/test`).set(H).send({ event_type: 'upload.failed' }).expect(200);
      // everything delivered: created + completed to the endpoint, completed per request, the test event
      await waitFor(async () => (await http.get(`/api/v1/deliveries?upload_id=${up.body.id}`).set(H)).body.data?.filter((d: { status: string }) => d.status === 'delivered').length >= 3, 60_000, 'deliveries');
      await waitFor(async () => hookReceiver.requests.length >= 5, 30_000, 'the receiver');
      const signed = await http.get(`/api/v1/uploads/${up.body.id}/download/processed`).set(H).expect(200);
      const u = new URL(signed.body.download_url);
      await http.get(u.pathname + u.search).expect(200);
      // bad keys and misuse are logged as failures, never with the key
      const typoKey = apiKey.slice(0, -3) + (apiKey.endsWith('AAA') ? 'BBB' : 'AAA');
      await http.get('/api/v1/me').set({ Authorization: `Bearer ${typoKey}` }).expect(401);
      await http.get('/api/v1/me').set({ Authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}` }).expect(401);
      await http.get(`/api/v1/me?api_key=${apiKey}`).expect(401);
      await http.post('/api/v1/webhooks').set(H).set('Content-Type', 'application/json').send(`{"url": "${apiKey}`).expect(400);
      await sleep(300);
      service.signal('SIGTERM');
      expect(await service.exit()).toBe(0);

      // what must never appear
      const signatures = hookReceiver.requests.flatMap((q) => [
        ...String(q.headers['x-optimaldial-signature'] ?? '')
          .split(',')
          .filter((p) => p.startsWith('v1='))
          .map((p) => p.slice(3)),
        ...String(q.headers['webhook-signature'] ?? '')
          .split(' ')
          .filter(Boolean)
          .map((p) => p.split(',')[1]),
        String(q.headers['authorization'] ?? ''),
      ]);
      const basic = Buffer.from(`hookuser:${urlPassword}`).toString('base64');
      const needles: Array<[string, string]> = [
        ['API key', apiKey],
        ['second API key', minted.api_key],
        ['mistyped API key', typoKey],
        ['API key hash', createHash('sha256').update(apiKey).digest('hex')],
        ['old webhook secret', oldSecret],
        ['new webhook secret', newSecret],
        ['per-request secret', perRequestSecret],
        ['URL password', urlPassword],
        ['Basic credentials', basic],
        ['download signature', u.searchParams.get('signature')!],
        ...signatures.filter((s) => s.length >= 16).map((s): [string, string] => ['signature value', s]),
      ];
      expect(signatures.filter((s) => s.length >= 16).length).toBeGreaterThanOrEqual(10);
      const lines = [...service.logs, ...cliLogs];
      const found = needles.flatMap(([what, value]) => lines.filter((l) => l.includes(value)).map((l) => `${what} in: ${l.slice(0, 300)}`));
      process.stderr.write(`security: log hygiene over ${service.logs.length} trace-level log lines, ${needles.length} secrets looked for, ${found.length} found\n`);
      expect(found).toEqual([]);
      // it did log at trace (the check is not vacuous): requests, with their redacted Authorization
      expect(service.logs.some((l) => l.includes('"authorization":"[redacted]"'))).toBe(true);
    } finally {
      if (service && service.exitCode === null) service.signal('SIGKILL');
      await hookReceiver.close();
      await envInfo.drop();
    }
  });
});
