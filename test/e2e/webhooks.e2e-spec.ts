import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { AuthService } from '../../src/auth/auth.service';
import { verifyWebhook, WebhookVerificationError } from '../../src/webhooks/signer';
import { SecretCipher } from '../../src/crypto/secret-cipher';
import { WebhookEndpoint } from '../../src/webhooks/webhook-endpoint.entity';
import { closedPort, LOCAL_DELIVERY_ENV, ReceivedRequest, Receiver } from '../support/receiver';
import { recordFailedAttempts } from '../support/seeds';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';

// The module object itself (not an ES namespace copy), so spying on it reaches pino's sonic-boom.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs: typeof import('node:fs') = require('node:fs');

/**
 * SPEC §5 (webhook endpoints) end to end: the real app over HTTP, a real database, real receivers on 127.0.0.1.
 *
 * Three apps:
 * - `t`: the dev switches on (http + 127.0.0.0/8 allowed), a short ping timeout, and the https receiver's
 *   self-signed certificate trusted through WEBHOOK_EXTRA_CA_FILE;
 * - `noCa`: the same switches without the extra CA (TLS failure);
 * - `strict`: the defaults (no http, no private ranges) for the URL-safety cases.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const PING_TIMEOUT_MS = 800;

const WEBHOOK_FIELDS = [
  'consecutive_failures',
  'created_at',
  'description',
  'disabled_at',
  'events',
  'id',
  'is_active',
  'last_failure_at',
  'last_success_at',
  'organization_id',
  'updated_at',
  'url',
  'user_id',
  'verified_at',
].sort();

const PING_FAILED_MESSAGE = 'Endpoint did not respond 2xx to the ping challenge. Verify signature, then retry.';

type Auth = { Authorization: string };

describe('webhook endpoints (SPEC §5)', () => {
  let t: TestApp;
  let noCa: TestApp;
  let strict: TestApp;
  let tls: Receiver & { certPem: string; certFile: string };
  const receivers: Receiver[] = [];

  async function receiver(): Promise<Receiver> {
    const r = await Receiver.http();
    receivers.push(r);
    return r;
  }

  beforeAll(async () => {
    tls = await Receiver.https();
    receivers.push(tls);
    [t, noCa, strict] = await Promise.all([
      createTestApp({ env: { ...LOCAL_DELIVERY_ENV, WEBHOOK_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS), WEBHOOK_EXTRA_CA_FILE: tls.certFile } }),
      createTestApp({ env: { ...LOCAL_DELIVERY_ENV, WEBHOOK_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS) } }),
      createTestApp(),
    ]);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await Promise.all([t, noCa, strict].filter(Boolean).map((a) => a.close()));
  });

  // ---------------------------------------------------------------------------------------------------------------
  // helpers

  const createReq = (app: TestApp, auth: Auth, body: unknown) => app.http.post('/api/v1/webhooks').set(auth).send(body as object);

  async function createOk(org: TestOrg, body: Record<string, unknown>, app = t): Promise<{ webhook: any; secret: string }> {
    const res = await createReq(app, org.auth, body);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body;
  }

  async function listOf(org: TestOrg, app = t): Promise<any[]> {
    const res = await app.http.get('/api/v1/webhooks').set(org.auth).expect(200);
    expect(Array.isArray(res.body)).toBe(true);
    return res.body;
  }

  /** Rows of the organization straight from the table (independent of the API's own reads). */
  async function rowCount(app: TestApp, organizationId: string): Promise<number> {
    return app.get(DataSource).getRepository(WebhookEndpoint).countBy({ organizationId });
  }

  async function rawSecretColumns(app: TestApp, id: string): Promise<{ current: string; previous: string | null }> {
    const row = await app
      .get(DataSource)
      .createQueryBuilder()
      .select('e.secret_encrypted', 'current')
      .addSelect('e.previous_secret_encrypted', 'previous')
      .from('webhook_endpoints', 'e')
      .where('e.id = :id', { id })
      .getRawOne();
    return row;
  }

  const standardWebhooksKey = (secret: string) => `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`;

  function standardHeaders(req: ReceivedRequest): Record<string, string> {
    return {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
  }

  /** Every §6.3 header of a ping, and both signature schemes verifying under `secret`. */
  function expectSignedPing(req: ReceivedRequest, secret: string, webhookId: string | null): any {
    expect(req.method).toBe('POST');
    const body = JSON.parse(req.body.toString('utf8'));
    expect(Object.keys(body).sort()).toEqual(['api_version', 'created_at', 'data', 'id', 'type']);
    expect(body).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{24}$/),
      type: 'webhook.ping',
      api_version: '2026-04-23',
      created_at: expect.stringMatching(ISO_MS),
      data: { challenge: expect.stringMatching(/^[0-9a-f]{32}$/), webhook_id: webhookId },
    });
    expect(Math.abs(Date.parse(body.created_at) - t.clock.nowMs())).toBeLessThan(60_000);

    const h = req.headers;
    expect(h['content-type']).toBe('application/json');
    expect(h['user-agent']).toBe('OptimalDial-Webhooks/1.0');
    expect(h['x-optimaldial-event']).toBe('webhook.ping');
    expect(h['x-optimaldial-event-id']).toBe(body.id);
    expect(h['x-optimaldial-delivery-id']).toMatch(UUID);
    expect(h['x-optimaldial-attempt']).toBe('1');
    const ts = String(h['x-optimaldial-timestamp']);
    expect(ts).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
    expect(h['x-optimaldial-signature']).toMatch(new RegExp(`^t=${ts}(,v1=[0-9a-f]{64})+$`));
    expect(h['webhook-id']).toBe(body.id);
    expect(h['webhook-timestamp']).toBe(ts);
    expect(h['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=( v1,[A-Za-z0-9+/]{43}=)*$/);

    // Independently of the service's signer: Stripe style over "<t>.<raw body>" with the secret's UTF-8 bytes.
    const expectedV1 = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${ts}.`).update(req.body).digest('hex');
    expect(String(h['x-optimaldial-signature']).split(',')).toContain(`v1=${expectedV1}`);
    // The shipped verifier and the Standard Webhooks reference library both accept it.
    expect(verifyWebhook(req.body, h, secret)).toEqual(body);
    expect(new StandardWebhook(standardWebhooksKey(secret)).verify(req.body.toString('utf8'), standardHeaders(req))).toEqual(body);
    return body;
  }

  function expectNotSignedBy(req: ReceivedRequest, secret: string): void {
    expect(() => verifyWebhook(req.body, req.headers, secret)).toThrow(WebhookVerificationError);
    expect(() => new StandardWebhook(standardWebhooksKey(secret)).verify(req.body.toString('utf8'), standardHeaders(req))).toThrow();
  }

  function expectPingFailed(res: { status: number; body: any }, statusCode: number | null): void {
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      detail: {
        error: 'ping_failed',
        message: PING_FAILED_MESSAGE,
        status_code: statusCode,
        underlying_error: statusCode === null ? expect.any(String) : null,
      },
    });
    if (statusCode === null) expect(res.body.detail.underlying_error.length).toBeGreaterThan(0);
  }

  function expectUnsafe(res: { status: number; body: any }, reason: string): void {
    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { detail: { error: 'unsafe_url', message: expect.any(String), reason } },
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  describe('POST /api/v1/webhooks', () => {
    it('pings the receiver once, signed with the new secret, then saves and returns {webhook, secret}', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const before = Date.now();
      const res = await createReq(t, org.auth, { url: `${r.url}/hooks/od` });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['secret', 'webhook']);
      const { webhook, secret } = res.body;
      expect(secret).toMatch(HEX64);

      expect(Object.keys(webhook).sort()).toEqual(WEBHOOK_FIELDS);
      expect(webhook).toEqual({
        id: expect.stringMatching(UUID),
        user_id: org.userId,
        organization_id: org.organizationId,
        url: `${r.url}/hooks/od`,
        description: null,
        events: ['upload.completed', 'upload.failed'],
        is_active: true,
        verified_at: expect.stringMatching(ISO_MS),
        last_success_at: null,
        last_failure_at: null,
        consecutive_failures: 0,
        disabled_at: null,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      expect(Date.parse(webhook.created_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(webhook.verified_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(JSON.stringify(webhook)).not.toContain(secret);

      // exactly one request: the ping, before the response
      expect(r.requests).toHaveLength(1);
      expect(r.connections).toBe(1);
      expect(r.requests[0].url).toBe('/hooks/od');
      expect(r.requests[0].headers.authorization).toBeUndefined();
      expectSignedPing(r.requests[0], secret, null);
      expectNotSignedBy(r.requests[0], 'f'.repeat(64));

      // persisted as returned
      const got = await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200);
      expect(got.body).toEqual(webhook);
      expect(await listOf(org)).toEqual([webhook]);
    });

    it('keeps the description and the listed events; any 2xx answers the ping', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      r.respond = (_req, res) => {
        res.writeHead(204);
        res.end();
      };
      const { webhook, secret } = await createOk(org, {
        url: r.url,
        description: 'production receiver',
        events: ['upload.created', 'upload.completed', 'upload.failed'],
      });
      expect(webhook.description).toBe('production receiver');
      expect(webhook.events).toEqual(['upload.created', 'upload.completed', 'upload.failed']);
      expect(r.requests).toHaveLength(1);
      expectSignedPing(r.requests[0], secret, null);
      // two endpoints never share a secret
      const second = await createOk(org, { url: r.url, events: ['upload.created'], description: 'x'.repeat(500) });
      expect(second.secret).toMatch(HEX64);
      expect(second.secret).not.toBe(secret);
      expect(second.webhook.events).toEqual(['upload.created']);
      expect(second.webhook.description).toHaveLength(500);
    });

    it('sends user info as HTTP Basic auth, keeps the query, drops the fragment', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const url = `http://user:p%40ss@127.0.0.1:${r.port}/hook?tenant=42#section`;
      const { secret } = await createOk(org, { url });
      expect(r.requests).toHaveLength(1);
      const req = r.requests[0];
      expect(req.url).toBe('/hook?tenant=42');
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
      expectSignedPing(req, secret, null);
      // the credentials are never shown back
      const [listed] = (await t.http.get('/api/v1/webhooks').set(org.auth).expect(200)).body;
      expect(listed.url).toBe(`http://***:***@127.0.0.1:${r.port}/hook?tenant=42`);
    });

    describe('validation → 400 validation_failed, nothing saved, no request sent', () => {
      let r: Receiver;
      beforeAll(async () => {
        r = await receiver();
      });

      it.each<[string, (url: string) => unknown, string]>([
        ['an unknown event', (url) => ({ url, events: ['upload.deleted'] }), 'events'],
        ['an empty events list', (url) => ({ url, events: [] }), 'events'],
        ['duplicate events', (url) => ({ url, events: ['upload.failed', 'upload.failed'] }), 'events'],
        ['webhook.ping as an event', (url) => ({ url, events: ['webhook.ping'] }), 'events'],
        ['events that is not a list', (url) => ({ url, events: 'upload.failed' }), 'events'],
        ['a 501-character description', (url) => ({ url, description: 'd'.repeat(501) }), 'description'],
        ['a missing url', () => ({ description: 'no url' }), 'url'],
        ['a url that is not a string', () => ({ url: 42 }), 'url'],
        ['an unknown field', (url) => ({ url, secret: 'a'.repeat(64) }), 'secret'],
      ])('%s', async (_name, body, field) => {
        const org = await t.createOrganization();
        const res = await createReq(t, org.auth, body(`${r.url}/v`));
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          detail: { error: 'validation_failed', message: expect.any(String), fields: { [field]: expect.any(Array) } },
        });
        expect(res.body.detail.fields[field].length).toBeGreaterThan(0);
        expect(await listOf(org)).toEqual([]);
        expect(await rowCount(t, org.organizationId)).toBe(0);
        expect(r.connections).toBe(0);
        expect(r.requests).toHaveLength(0);
      });

      it('malformed JSON is a 400 in the same envelope', async () => {
        const org = await t.createOrganization();
        const res = await t.http.post('/api/v1/webhooks').set(org.auth).set('Content-Type', 'application/json').send('{"url": ');
        expect(res.status).toBe(400);
        expect(res.body.detail).toBeDefined();
        expect(r.connections).toBe(0);
      });
    });

    describe('URL safety with the dev switches off (the default) → 400 unsafe_url, no connection at all', () => {
      let plain: Receiver;
      beforeAll(async () => {
        plain = await receiver();
        tls.reset();
      });
      afterAll(() => {
        // nothing anywhere on 127.0.0.1 was dialled by any of the cases
        expect(plain.connections).toBe(0);
        expect(tls.connections).toBe(0);
      });

      const port = () => tls.port;
      it.each<[string, () => string, string]>([
        ['http:// (WEBHOOK_ALLOW_HTTP off)', () => `http://127.0.0.1:${plain.port}/hook`, 'not_https'],
        ['http:// to a public name', () => 'http://hooks.example.com/hook', 'not_https'],
        ['ftp://x', () => 'ftp://x', 'not_https'],
        ['https://127.0.0.1', () => `https://127.0.0.1:${port()}/hook`, 'private_address'],
        ['https://localhost', () => `https://localhost:${port()}/hook`, 'private_address'],
        ['https://[::1]', () => `https://[::1]:${port()}/hook`, 'private_address'],
        ['decimal https://2130706433/', () => `https://2130706433:${port()}/`, 'private_address'],
        ['hex https://0x7f.1/', () => `https://0x7f.1:${port()}/`, 'private_address'],
        ['octal https://0177.0.0.1/', () => `https://0177.0.0.1:${port()}/`, 'private_address'],
        ['short https://127.1/', () => `https://127.1:${port()}/`, 'private_address'],
        ['IPv4-mapped https://[::ffff:127.0.0.1]/', () => `https://[::ffff:127.0.0.1]:${port()}/`, 'private_address'],
        ['IPv4-mapped hex https://[::ffff:7f00:1]/', () => `https://[::ffff:7f00:1]:${port()}/`, 'private_address'],
        ['https://0.0.0.0', () => `https://0.0.0.0:${port()}/`, 'private_address'],
        ['RFC 1918 https://10.0.0.1', () => 'https://10.0.0.1/hook', 'private_address'],
        ['RFC 1918 https://192.168.1.10', () => 'https://192.168.1.10/hook', 'private_address'],
        ['metadata https://169.254.169.254', () => 'https://169.254.169.254/latest/meta-data/', 'private_address'],
        ['CGNAT https://100.64.0.1', () => 'https://100.64.0.1/', 'private_address'],
        ['ULA https://[fd00::1]', () => 'https://[fd00::1]/', 'private_address'],
        ['NAT64 of loopback https://[64:ff9b::7f00:1]', () => 'https://[64:ff9b::7f00:1]/', 'private_address'],
        ['a name that does not resolve', () => 'https://nonexistent.invalid/', 'unresolvable'],
        ['a URL of 2049 characters', () => `https://hooks.example.com/${'a'.repeat(2049 - 'https://hooks.example.com/'.length)}`, 'invalid_url'],
        ['not a URL', () => 'not a url', 'invalid_url'],
        ['no host', () => 'https:///hook', 'invalid_url'],
      ])('%s', async (_name, url, reason) => {
        const org = await strict.createOrganization();
        const u = url();
        if (reason === 'invalid_url' && u.startsWith('https://hooks')) expect(u).toHaveLength(2049);
        expectUnsafe(await createReq(strict, org.auth, { url: u }), reason);
        expect(await listOf(org, strict)).toEqual([]);
        expect(await rowCount(strict, org.organizationId)).toBe(0);
        expect(plain.connections + tls.connections).toBe(0);
      });

      it('a URL of exactly 2048 characters is not rejected for its length', async () => {
        const org = await strict.createOrganization();
        // a host that does not resolve, padded to the limit: the verdict moves on from syntax to DNS
        const base = 'https://nonexistent.invalid/';
        const res = await createReq(strict, org.auth, { url: base + 'a'.repeat(2048 - base.length) });
        expectUnsafe(res, 'unresolvable');
      });
    });

    it('a URL that is 2048 characters as written but longer once normalized (percent-encoding) is invalid_url', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const url = `${r.url}/${'é'.repeat(1000)}`;
      expect(url.length).toBeLessThanOrEqual(2048);
      expect(new URL(url).href.length).toBeGreaterThan(2048);
      expectUnsafe(await createReq(t, org.auth, { url }), 'invalid_url');
      expect(r.connections).toBe(0);
      expect(await listOf(org)).toEqual([]);
      // and the same URL with the characters already escaped is the same URL
      expectUnsafe(await createReq(t, org.auth, { url: new URL(url).href }), 'invalid_url');
    });

    it('with the dev switches on, only the allowed range opens up: 10.0.0.1 and ::1 stay forbidden', async () => {
      const org = await t.createOrganization();
      expectUnsafe(await createReq(t, org.auth, { url: 'https://10.0.0.1/' }), 'private_address');
      expectUnsafe(await createReq(t, org.auth, { url: `https://[::1]:${tls.port}/` }), 'private_address');
      expectUnsafe(await createReq(t, org.auth, { url: 'https://169.254.169.254/' }), 'private_address');
      expect(await listOf(org)).toEqual([]);
    });

    describe('ping failures → 400 ping_failed, nothing saved', () => {
      it('the receiver answers 500: status_code 500, underlying_error null, no retry', async () => {
        const org = await t.createOrganization();
        const r = await receiver();
        r.respond = (_req, res) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('boom');
        };
        expectPingFailed(await createReq(t, org.auth, { url: r.url }), 500);
        expect(r.requests).toHaveLength(1);
        expect(JSON.parse(r.requests[0].body.toString()).type).toBe('webhook.ping');
        expect(await listOf(org)).toEqual([]);
        expect(await rowCount(t, org.organizationId)).toBe(0);
      });

      it.each([400, 404, 410, 429, 503])('the receiver answers %i', async (status) => {
        const org = await t.createOrganization();
        const r = await receiver();
        r.respond = (_req, res) => {
          res.writeHead(status);
          res.end();
        };
        expectPingFailed(await createReq(t, org.auth, { url: r.url }), status);
        expect(await listOf(org)).toEqual([]);
      });

      it('a refused connection: status_code null, underlying_error says why', async () => {
        const org = await t.createOrganization();
        const res = await createReq(t, org.auth, { url: `http://127.0.0.1:${await closedPort()}/hook` });
        expectPingFailed(res, null);
        expect(res.body.detail.underlying_error).toMatch(/connection|refused/i);
        expect(await listOf(org)).toEqual([]);
        expect(await rowCount(t, org.organizationId)).toBe(0);
      });

      it('a receiver that never answers fails after WEBHOOK_PING_TIMEOUT_MS, not later', async () => {
        const org = await t.createOrganization();
        const r = await receiver();
        r.respond = () => undefined; // hold the request open forever
        const started = Date.now();
        const res = await createReq(t, org.auth, { url: r.url });
        const elapsed = Date.now() - started;
        expectPingFailed(res, null);
        expect(res.body.detail.underlying_error).toMatch(/time/i);
        expect(r.requests).toHaveLength(1);
        expect(elapsed).toBeGreaterThanOrEqual(PING_TIMEOUT_MS - 50);
        expect(elapsed).toBeLessThan(PING_TIMEOUT_MS + 3000);
        expect(await listOf(org)).toEqual([]);
        expect(await rowCount(t, org.organizationId)).toBe(0);
      });

      it('a receiver that answers 200 only after the deadline is a failure', async () => {
        const org = await t.createOrganization();
        const r = await receiver();
        r.respond = (_req, res) => {
          // headers only after the deadline
          setTimeout(() => {
            if (!res.destroyed) {
              res.writeHead(200);
              res.end('late');
            }
          }, PING_TIMEOUT_MS + 700);
        };
        expectPingFailed(await createReq(t, org.auth, { url: r.url }), null);
        expect(await listOf(org)).toEqual([]);
      });

      it.each([301, 302, 307, 308])('a %i redirect is a failure and is not followed', async (status) => {
        const org = await t.createOrganization();
        const target = await receiver();
        const r = await receiver();
        r.respond = (_req, res) => {
          res.writeHead(status, { location: `${target.url}/elsewhere` });
          res.end();
        };
        expectPingFailed(await createReq(t, org.auth, { url: r.url }), status);
        expect(r.requests).toHaveLength(1);
        expect(target.connections).toBe(0);
        expect(target.requests).toHaveLength(0);
        expect(await listOf(org)).toEqual([]);
      });
    });

    describe('HTTPS receiver with a self-signed certificate', () => {
      it('works when the certificate is trusted through WEBHOOK_EXTRA_CA_FILE', async () => {
        const org = await t.createOrganization();
        tls.reset();
        const { webhook, secret } = await createOk(org, { url: `${tls.url}/secure` });
        expect(webhook.url).toBe(`${tls.url}/secure`);
        expect(tls.requests).toHaveLength(1);
        expect(tls.requests[0].url).toBe('/secure');
        expectSignedPing(tls.requests[0], secret, null);
      });

      it('fails as ping_failed (TLS) without it, and nothing is saved', async () => {
        const org = await noCa.createOrganization();
        tls.reset();
        const res = await createReq(noCa, org.auth, { url: `${tls.url}/secure` });
        expectPingFailed(res, null);
        expect(res.body.detail.underlying_error).toMatch(/tls|certificate/i);
        expect(tls.requests).toHaveLength(0);
        expect(await listOf(org, noCa)).toEqual([]);
        expect(await rowCount(noCa, org.organizationId)).toBe(0);
      });
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('GET /api/v1/webhooks and /{id}', () => {
    it('lists the organization\'s endpoints as a bare array, newest first', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      expect(await listOf(org)).toEqual([]);
      const created: any[] = [];
      try {
        for (const name of ['first', 'second', 'third']) {
          created.push((await createOk(org, { url: `${r.url}/${name}`, description: name })).webhook);
          t.clock.advance(1000);
        }
      } finally {
        t.clock.advance(-3000);
      }
      const list = await listOf(org);
      expect(list.map((w) => w.description)).toEqual(['third', 'second', 'first']);
      expect(list).toEqual([...created].reverse());
      for (const w of list) expect(Object.keys(w).sort()).toEqual(WEBHOOK_FIELDS);
    });

    it('404 for an unknown id and for a malformed one', async () => {
      const org = await t.createOrganization();
      const unknown = await t.http.get('/api/v1/webhooks/7d1f3c52-5d0e-4b8e-9a51-3f0a9e3c2b11').set(org.auth);
      expect(unknown.status).toBe(404);
      expect(unknown.body.detail).toEqual(expect.any(String));
      for (const bad of ['not-a-uuid', '123', '7d1f3c52-5d0e-4b8e-9a51-3f0a9e3c2b1', "1' OR '1'='1"]) {
        const res = await t.http.get(`/api/v1/webhooks/${encodeURIComponent(bad)}`).set(org.auth);
        expect({ bad, status: res.status }).toEqual({ bad, status: 404 });
        expect(res.body.detail).toBeDefined();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('another organization', () => {
    it('gets 404 on every route for an endpoint it does not own, and never sees it listed', async () => {
      const a = await t.createOrganization();
      const b = await t.createOrganization();
      const r = await receiver();
      const { webhook } = await createOk(a, { url: r.url, description: 'org A' });
      const other = await receiver();
      const id = webhook.id;
      const attempts: Array<[string, () => PromiseLike<{ status: number }>]> = [
        ['GET', () => t.http.get(`/api/v1/webhooks/${id}`).set(b.auth)],
        ['PATCH description', () => t.http.patch(`/api/v1/webhooks/${id}`).set(b.auth).send({ description: 'hijacked' })],
        ['PATCH url', () => t.http.patch(`/api/v1/webhooks/${id}`).set(b.auth).send({ url: other.url })],
        ['PATCH is_active', () => t.http.patch(`/api/v1/webhooks/${id}`).set(b.auth).send({ is_active: false })],
        ['DELETE', () => t.http.delete(`/api/v1/webhooks/${id}`).set(b.auth)],
        ['rotate-secret', () => t.http.post(`/api/v1/webhooks/${id}/rotate-secret`).set(b.auth)],
        ['deliveries', () => t.http.get(`/api/v1/webhooks/${id}/deliveries`).set(b.auth)],
      ];
      for (const [route, call] of attempts) {
        const res = await call();
        expect({ route, status: res.status }).toEqual({ route, status: 404 });
      }
      expect(other.connections).toBe(0);
      expect(await listOf(b)).toEqual([]);
      // untouched for its owner
      const still = await t.http.get(`/api/v1/webhooks/${id}`).set(a.auth).expect(200);
      expect(still.body).toEqual(webhook);
      const raw = await rawSecretColumns(t, id);
      expect(raw.previous).toBeNull(); // the rotate attempt did not rotate
      // the 404 looks exactly like an unknown id's
      const unknown = await t.http.get('/api/v1/webhooks/7d1f3c52-5d0e-4b8e-9a51-3f0a9e3c2b11').set(b.auth);
      const foreign = await t.http.get(`/api/v1/webhooks/${id}`).set(b.auth);
      expect(foreign.body).toEqual(unknown.body);
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('PATCH /api/v1/webhooks/{id}', () => {
    it('changes description and events (events replace, no merge) without pinging', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook, secret } = await createOk(org, { url: r.url, events: ['upload.created', 'upload.completed', 'upload.failed'] });
      t.clock.advance(2000);
      let res;
      try {
        res = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ description: 'renamed', events: ['upload.failed'] });
      } finally {
        t.clock.advance(-2000);
      }
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(WEBHOOK_FIELDS);
      expect(res.body).toEqual({ ...webhook, description: 'renamed', events: ['upload.failed'], updated_at: expect.stringMatching(ISO_MS) });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(webhook.updated_at));
      expect(JSON.stringify(res.body)).not.toContain(secret);
      expect(r.requests).toHaveLength(1); // only the creation ping

      const again = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ events: ['upload.created', 'upload.completed'] }).expect(200);
      expect(again.body.events).toEqual(['upload.created', 'upload.completed']);
      expect(again.body.description).toBe('renamed');
      const cleared = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ description: null }).expect(200);
      expect(cleared.body.description).toBeNull();
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200)).body).toEqual(cleared.body);
      // the same URL again is not a change: no ping
      await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: webhook.url }).expect(200);
      expect(r.requests).toHaveLength(1);
    });

    it.each<[string, Record<string, unknown>]>([
      ['an empty events list', { events: [] }],
      ['an unknown event', { events: ['upload.deleted'] }],
      ['duplicate events', { events: ['upload.created', 'upload.created'] }],
      ['webhook.ping', { events: ['webhook.ping'] }],
      ['a 501-character description', { description: 'd'.repeat(501) }],
      ['the secret (not updatable)', { secret: 'b'.repeat(64) }],
      ['an unknown field', { verified_at: null }],
      ['is_active that is not a boolean', { is_active: 'yes' }],
    ])('400 validation_failed for %s, nothing changes', async (_name, body) => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook } = await createOk(org, { url: r.url, description: 'keep' });
      const res = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.detail).toEqual({ error: 'validation_failed', message: expect.any(String), fields: expect.any(Object) });
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200)).body).toEqual(webhook);
    });

    it('a new URL is ping-verified with the EXISTING secret before it is saved', async () => {
      const org = await t.createOrganization();
      const oldR = await receiver();
      const newR = await receiver();
      const { webhook, secret } = await createOk(org, { url: oldR.url });
      t.clock.advance(2000);
      let res;
      try {
        res = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: `${newR.url}/v2` });
      } finally {
        t.clock.advance(-2000);
      }
      expect(res.status).toBe(200);
      expect(res.body.url).toBe(`${newR.url}/v2`);
      expect(Date.parse(res.body.verified_at)).toBeGreaterThan(Date.parse(webhook.verified_at));
      expect(JSON.stringify(res.body)).not.toContain(secret);
      expect(newR.requests).toHaveLength(1);
      expect(newR.requests[0].url).toBe('/v2');
      const ping = expectSignedPing(newR.requests[0], secret, webhook.id);
      expect(ping.data.webhook_id).toBe(webhook.id);
      expect(String(newR.requests[0].headers['x-optimaldial-signature']).match(/v1=/g)).toHaveLength(1);
      expect(oldR.requests).toHaveLength(1); // the creation ping only
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200)).body.url).toBe(`${newR.url}/v2`);
    });

    it('a new URL that fails its ping leaves the endpoint exactly as it was (including the other fields sent)', async () => {
      const org = await t.createOrganization();
      const oldR = await receiver();
      const bad = await receiver();
      bad.respond = (_req, res) => {
        res.writeHead(500);
        res.end();
      };
      const { webhook, secret } = await createOk(org, { url: oldR.url, description: 'before' });
      const res = await t.http
        .patch(`/api/v1/webhooks/${webhook.id}`)
        .set(org.auth)
        .send({ url: bad.url, description: 'after', events: ['upload.created'], is_active: false });
      expectPingFailed(res, 500);
      expect(bad.requests).toHaveLength(1);
      expectSignedPing(bad.requests[0], secret, webhook.id);
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200)).body).toEqual(webhook);

      const refused = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: `http://127.0.0.1:${await closedPort()}/` });
      expectPingFailed(refused, null);
      const unsafe = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: 'https://10.0.0.1/' });
      expectUnsafe(unsafe, 'private_address');
      const invalid = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: 'ftp://x' });
      expectUnsafe(invalid, 'not_https');
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200)).body).toEqual(webhook);
    });

    it('is_active:false disables manually: disabled_at stays null; no ping', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook } = await createOk(org, { url: r.url });
      const res = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ is_active: false }).expect(200);
      expect(res.body).toMatchObject({ is_active: false, disabled_at: null, consecutive_failures: 0, url: webhook.url });
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth)).body.is_active).toBe(false);
      expect(r.requests).toHaveLength(1);
      const back = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ is_active: true }).expect(200);
      expect(back.body).toMatchObject({ is_active: true, disabled_at: null, consecutive_failures: 0 });
    });

    it('is_active:true re-enables an auto-disabled endpoint: consecutive_failures → 0, disabled_at → null', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook } = await createOk(org, { url: r.url });
      // arrange: the state the delivery engine leaves after 20 consecutive failures
      const disabledAt = new Date(t.clock.nowMs() - 60_000);
      const lastFailureAt = new Date(t.clock.nowMs() - 61_000);
      await recordFailedAttempts(t, webhook.id, 20, { lastFailureAt, now: disabledAt });
      const disabled = await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200);
      expect(disabled.body).toMatchObject({ is_active: false, consecutive_failures: 20, disabled_at: disabledAt.toISOString(), last_failure_at: lastFailureAt.toISOString() });

      const res = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ is_active: true }).expect(200);
      expect(res.body).toMatchObject({ is_active: true, consecutive_failures: 0, disabled_at: null, last_failure_at: lastFailureAt.toISOString() });
      expect((await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth)).body).toEqual(res.body);

      // a partial reset is not enough: is_active:true on an active endpoint with a failure streak also resets it
      await recordFailedAttempts(t, webhook.id, 5);
      const again = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ is_active: true }).expect(200);
      expect(again.body.consecutive_failures).toBe(0);
      // …while a PATCH without is_active leaves the counters alone
      await recordFailedAttempts(t, webhook.id, 3);
      const other = await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ description: 'x' }).expect(200);
      expect(other.body.consecutive_failures).toBe(3);
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('DELETE /api/v1/webhooks/{id}', () => {
    it('answers {"status":"deleted"}, then the endpoint is gone everywhere', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const keep = (await createOk(org, { url: r.url, description: 'keep' })).webhook;
      const { webhook } = await createOk(org, { url: r.url, description: 'delete me' });
      const res = await t.http.delete(`/api/v1/webhooks/${webhook.id}`).set(org.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'deleted' });
      await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(404);
      await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ description: 'x' }).expect(404);
      await t.http.post(`/api/v1/webhooks/${webhook.id}/rotate-secret`).set(org.auth).expect(404);
      await t.http.delete(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(404);
      expect(await listOf(org)).toEqual([keep]);
      // hard delete
      expect(await t.get(DataSource).getRepository(WebhookEndpoint).countBy({ id: webhook.id })).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('secrets', () => {
    it('are stored AES-GCM encrypted (v1:…), never in plaintext, never in any response after creation', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook, secret } = await createOk(org, { url: r.url });
      const raw = await rawSecretColumns(t, webhook.id);
      expect(raw.current).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
      expect(raw.previous).toBeNull();
      const forms = [secret, secret.toUpperCase(), Buffer.from(secret, 'hex').toString('base64'), Buffer.from(secret).toString('base64')];
      for (const f of forms) expect(raw.current).not.toContain(f);
      const decoded = Buffer.from(raw.current.slice(3), 'base64');
      expect(decoded.includes(Buffer.from(secret))).toBe(false);
      expect(decoded.includes(Buffer.from(secret, 'hex'))).toBe(false);
      // it is the secret, under the configured key
      expect(t.get(SecretCipher).decrypt(raw.current)).toBe(secret);
      // the whole row, as an ORM read would see it, does not carry it either
      const rowJson = JSON.stringify(await t.get(DataSource).getRepository(WebhookEndpoint).findOneBy({ id: webhook.id }));
      expect(rowJson).not.toContain(secret);
      expect(rowJson).not.toContain(raw.current);

      const responses = [
        await t.http.get('/api/v1/webhooks').set(org.auth),
        await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth),
        await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ description: 'd' }),
      ];
      for (const res of responses) {
        expect(res.status).toBe(200);
        const text = JSON.stringify(res.body);
        expect(text).not.toContain(secret);
        expect(text).not.toContain(raw.current.slice(3, 30));
        expect(text).not.toMatch(/secret/i);
      }
    });

    it('rotate-secret returns a new secret; for 24 h pings carry two v1 signatures (new and previous), then one', async () => {
      const org = await t.createOrganization();
      const r1 = await receiver();
      const r2 = await receiver();
      const r3 = await receiver();
      const { webhook, secret: oldSecret } = await createOk(org, { url: r1.url });
      const rawBefore = await rawSecretColumns(t, webhook.id);

      const rot = await t.http.post(`/api/v1/webhooks/${webhook.id}/rotate-secret`).set(org.auth);
      expect(rot.status).toBe(200);
      expect(Object.keys(rot.body).sort()).toEqual(['previous_secret_expires_at', 'secret']);
      const newSecret = rot.body.secret;
      expect(newSecret).toMatch(HEX64);
      expect(newSecret).not.toBe(oldSecret);
      expect(rot.body.previous_secret_expires_at).toMatch(ISO_MS);
      const expiresIn = Date.parse(rot.body.previous_secret_expires_at) - t.clock.nowMs();
      expect(expiresIn).toBeGreaterThan(24 * 3600_000 - 60_000);
      expect(expiresIn).toBeLessThanOrEqual(24 * 3600_000);

      // at rest: both encrypted, the new one under a new ciphertext
      const rawAfter = await rawSecretColumns(t, webhook.id);
      expect(rawAfter.previous).toBe(rawBefore.current);
      expect(rawAfter.current).toMatch(/^v1:/);
      expect(rawAfter.current).not.toContain(newSecret);
      expect(t.get(SecretCipher).decrypt(rawAfter.current)).toBe(newSecret);
      // the endpoint object is unchanged apart from updated_at, and shows neither secret
      const got = await t.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200);
      expect({ ...got.body, updated_at: null }).toEqual({ ...webhook, updated_at: null });
      expect(JSON.stringify(got.body)).not.toContain(newSecret);

      // a URL change pings: signed under both secrets during the overlap
      await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: r2.url }).expect(200);
      expect(r2.requests).toHaveLength(1);
      const ping = r2.requests[0];
      expect(String(ping.headers['x-optimaldial-signature']).match(/v1=/g)).toHaveLength(2);
      expect(String(ping.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expectSignedPing(ping, newSecret, webhook.id);
      expectSignedPing(ping, oldSecret, webhook.id);

      // after the overlap only the new secret signs
      const overlap = 24 * 3600_000 + 1000;
      t.clock.advance(overlap);
      try {
        await t.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: r3.url }).expect(200);
      } finally {
        t.clock.advance(-overlap);
      }
      expect(r3.requests).toHaveLength(1);
      const late = r3.requests[0];
      const ts = Number(late.headers['x-optimaldial-timestamp']);
      expect(String(late.headers['x-optimaldial-signature']).match(/v1=/g)).toHaveLength(1);
      expect(verifyWebhook(late.body, late.headers, newSecret, { nowSeconds: ts }).data).toMatchObject({ webhook_id: webhook.id });
      expect(() => verifyWebhook(late.body, late.headers, oldSecret, { nowSeconds: ts })).toThrow(WebhookVerificationError);
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('scope webhooks:manage', () => {
    it('a key without it gets 403 insufficient_scope on every webhook route, and no ping goes out', async () => {
      const org = await t.createOrganization();
      const r = await receiver();
      const { webhook } = await createOk(org, { url: r.url });
      const limited = await t
        .get(AuthService)
        .mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: ['uploads:read', 'uploads:write'] });
      const auth = { Authorization: `Bearer ${limited.apiKey}` };
      const id = webhook.id;
      const other = await receiver();
      const calls: Array<[string, () => PromiseLike<{ status: number; body: unknown }>]> = [
        ['POST /webhooks', () => t.http.post('/api/v1/webhooks').set(auth).send({ url: other.url })],
        ['GET /webhooks', () => t.http.get('/api/v1/webhooks').set(auth)],
        ['GET /webhooks/{id}', () => t.http.get(`/api/v1/webhooks/${id}`).set(auth)],
        ['PATCH /webhooks/{id}', () => t.http.patch(`/api/v1/webhooks/${id}`).set(auth).send({ url: other.url })],
        ['DELETE /webhooks/{id}', () => t.http.delete(`/api/v1/webhooks/${id}`).set(auth)],
        ['POST rotate-secret', () => t.http.post(`/api/v1/webhooks/${id}/rotate-secret`).set(auth)],
        ['GET deliveries', () => t.http.get(`/api/v1/webhooks/${id}/deliveries`).set(auth)],
        ['POST test', () => t.http.post(`/api/v1/webhooks/${id}/test`).set(auth).send({ event_type: 'upload.completed' })],
        ['POST recover', () => t.http.post(`/api/v1/webhooks/${id}/recover`).set(auth).send({ since: new Date(0).toISOString() })],
        ['POST retry', () => t.http.post(`/api/v1/webhooks/${id}/deliveries/7d1f3c52-5d0e-4b8e-9a51-3f0a9e3c2b11/retry`).set(auth)],
      ];
      for (const [route, call] of calls) {
        const res = await call();
        expect({ route, status: res.status, body: res.body }).toEqual({
          route,
          status: 403,
          body: { detail: { error: 'insufficient_scope', message: expect.any(String), required_scope: 'webhooks:manage' } },
        });
      }
      expect(other.connections).toBe(0);
      // nothing changed
      expect((await t.http.get(`/api/v1/webhooks/${id}`).set(org.auth).expect(200)).body).toEqual(webhook);
      expect((await rawSecretColumns(t, id)).previous).toBeNull();
    });

    it('401 without a key', async () => {
      const res = await t.http.get('/api/v1/webhooks');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });

  // ---------------------------------------------------------------------------------------------------------------
  describe('logs', () => {
    let logged: TestApp;
    const lines: string[] = [];
    const spies: jest.SpyInstance[] = [];

    beforeAll(async () => {
      // pino writes through sonic-boom with fs.write/fs.writeSync on fd 1: capture those (and keep them off the
      // test output) for an app logging at trace level…
      const captured = (fd: unknown, data: unknown): number | null => {
        if (fd !== 1 && fd !== 2) return null;
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
        lines.push(text);
        return Buffer.byteLength(text);
      };
      const realWriteSync = fs.writeSync;
      const realWrite = fs.write;
      spies.push(
        jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: unknown, ...rest: unknown[]) => {
          const n = captured(fd, data);
          return n ?? (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest);
        }) as typeof fs.writeSync),
        jest.spyOn(fs, 'write').mockImplementation(((fd: number, data: unknown, ...rest: unknown[]) => {
          const n = captured(fd, data);
          if (n === null) return (realWrite as (...a: unknown[]) => void)(fd, data, ...rest);
          const cb = rest[rest.length - 1];
          if (typeof cb === 'function') process.nextTick(cb as (...a: unknown[]) => void, null, n);
        }) as typeof fs.write),
      );
      // …or through process.stdout when something (jest) has wrapped it.
      for (const stream of [process.stdout, process.stderr]) {
        spies.push(
          jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
            captured(1, chunk);
            const cb = rest[rest.length - 1];
            if (typeof cb === 'function') process.nextTick(cb as () => void);
            return true;
          }) as typeof process.stdout.write),
        );
      }
      logged = await createTestApp({ env: { ...LOCAL_DELIVERY_ENV, LOG_LEVEL: 'trace' } });
    });
    afterAll(async () => {
      await logged?.close();
      for (const s of spies) s.mockRestore();
    });

    it('never contain a webhook secret (plaintext or ciphertext) or the API key', async () => {
      const org = await logged.createOrganization();
      const r = await receiver();
      const failing = await receiver();
      failing.respond = (_req, res) => {
        res.writeHead(500);
        res.end();
      };
      const created = await createReq(logged, org.auth, { url: r.url, description: 'logged' });
      expect(created.status).toBe(200);
      const { webhook, secret } = created.body;
      await createReq(logged, org.auth, { url: failing.url }).expect(400);
      await logged.http.get('/api/v1/webhooks').set(org.auth).expect(200);
      await logged.http.get(`/api/v1/webhooks/${webhook.id}`).set(org.auth).expect(200);
      const rotated = await logged.http.post(`/api/v1/webhooks/${webhook.id}/rotate-secret`).set(org.auth).expect(200);
      const r2 = await receiver();
      await logged.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: r2.url }).expect(200);
      await logged.http.patch(`/api/v1/webhooks/${webhook.id}`).set(org.auth).send({ url: failing.url }).expect(400);
      const marker = `/api/v1/webhooks/${webhook.id}/deliveries`;
      await logged.http.get(marker).set(org.auth);
      // the request log of the last call proves the capture works (and that everything before it was flushed)
      for (let i = 0; i < 100 && !lines.join('').includes(marker); i++) await new Promise((res) => setTimeout(res, 20));
      const text = lines.join('');
      expect(text).toContain(marker);
      expect(text).toContain('/rotate-secret');
      const raw = await rawSecretColumns(logged, webhook.id);
      for (const forbidden of [secret, rotated.body.secret, org.apiKey, raw.current.slice(3), raw.previous!.slice(3)]) {
        expect(text).not.toContain(forbidden);
      }
      // signatures derived from the secrets are not logged either
      for (const req of [...r.requests, ...r2.requests, ...failing.requests]) {
        expect(text).not.toContain(String(req.headers['x-optimaldial-signature']).split(',')[1].slice(3));
      }
    });
  });
});
