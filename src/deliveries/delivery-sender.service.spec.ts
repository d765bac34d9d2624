import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { AddressPolicy } from '../net/safe-lookup';
import { SecretCipher } from '../crypto/secret-cipher';
import { ClaimedDelivery } from './deliveries.repository';
import { DeliverySender, SECRET_UNAVAILABLE, SecretUnavailableError } from './delivery-sender.service';

/** Always 2023-11-14T22:13:20.000Z, so signatures are fixed vectors. */
class FixedClock extends Clock {
  override nowMs(): number {
    return 1_700_000_000_000;
  }
}

// The body contains non-ASCII bytes: it must reach the receiver byte for byte.
const BODY = Buffer.from('{"id":"evt_0123456789abcdef01234567","type":"upload.completed","data":{"note":"é ✓"}}', 'utf8');
const K = 'k'.repeat(64);
const P = 'p'.repeat(64);
/*
 * python3: hmac.new(s, b"1700000000." + body, sha256).hexdigest() and
 *          base64(hmac.new(s, b"evt_0123456789abcdef01234567.1700000000." + body, sha256).digest())
 */
const VECTORS = {
  [K]: { stripe: 'f467d854172b9fadbbac1e150239a30c292c08f440fc71d9fe07b79d4dd420dc', standard: 'zuqekebY5NE7FNxGrJ19h73+4LSUmUCkH9luRMmGMLI=' },
  [P]: { stripe: 'e022176d4054ecb427c91e0033d605cd931f56eafe23c3831d8e35e95f1893fa', standard: 'vlo9JSMRmhPOPH0hnQdIzRCBU/uUWkpl9BX574i8HhI=' },
};

const claim = (over: Partial<ClaimedDelivery> = {}): ClaimedDelivery => ({
  id: 'd-1',
  organizationId: 'org',
  eventId: 'evt_0123456789abcdef01234567',
  eventType: 'upload.completed',
  webhookEndpointId: 'ep-1',
  targetUrl: 'unused',
  targetSecretEncrypted: null,
  targetCredentialsEncrypted: null,
  attemptCount: 2,
  scheduleStartedAfter: 0,
  createdAtMs: 0,
  dueAtMs: 0,
  token: 'tok-1',
  ...over,
});

describe('DeliverySender', () => {
  let server: Server;
  let origin: string;
  let seen: Array<{ url: string; headers: IncomingHttpHeaders; body: Buffer }>;
  let answer = 200;
  let sender: DeliverySender;
  const decrypt = jest.fn((c: string) => {
    if (c === 'broken') throw new Error('Unsupported state or unable to authenticate data');
    return c.slice('enc:'.length);
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(answer, { 'content-type': 'text/plain' });
        res.end('fine');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = { delivery: { timeoutMs: 2000, globalConcurrency: 4, extraCaPem: null } } as unknown as AppConfig;
    sender = new DeliverySender(config, { decrypt } as unknown as SecretCipher, new FixedClock(), new AddressPolicy({ allowHttp: true, allowedCidrs: ['127.0.0.0/8'] }));
  });

  beforeEach(() => {
    seen = [];
    answer = 200;
    decrypt.mockClear();
  });

  afterAll(async () => {
    await sender.close();
    await new Promise((r) => server.close(r));
  });

  it('signs with both schemes (both secrets during a rotation) against fixed vectors, body bytes unchanged', async () => {
    const endpoint = { id: 'ep-1', url: `${origin}/hook`, secretEncrypted: `enc:${K}`, previousSecretEncrypted: `enc:${P}`, previousSecretExpiresAtMs: 1_700_000_000_001, urlCredentialsEncrypted: null };
    const secrets = sender.endpointSecrets(endpoint, 1_700_000_000_000);
    expect(secrets).toEqual([K, P]);
    const outcome = await sender.send({ claim: claim(), target: sender.target(endpoint.url, null), secrets, body: BODY });

    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req.body.equals(BODY)).toBe(true);
    expect(req.headers['content-length']).toBe(String(BODY.length));
    expect(req.headers['x-optimaldial-signature']).toBe(`t=1700000000,v1=${VECTORS[K].stripe},v1=${VECTORS[P].stripe}`);
    expect(req.headers['webhook-signature']).toBe(`v1,${VECTORS[K].standard} v1,${VECTORS[P].standard}`);
    expect(req.headers).toMatchObject({
      'x-optimaldial-attempt': '3',
      'x-optimaldial-timestamp': '1700000000',
      'webhook-timestamp': '1700000000',
      'webhook-id': 'evt_0123456789abcdef01234567',
      'x-optimaldial-delivery-id': 'd-1',
      'content-type': 'application/json',
    });
    expect(req.headers.authorization).toBeUndefined();
    expect(outcome).toMatchObject({ deliveryId: 'd-1', claimToken: 'tok-1', status: 'delivered', nextRetryAt: null, endpointId: 'ep-1', gone: false, targetUrl: endpoint.url });
    expect(outcome.attempt).toMatchObject({ deliveryId: 'd-1', attemptNumber: 3, responseStatus: 200, errorClass: null, responseBody: 'fine' });
  });

  it('signs with the current secret only once the previous one expired', () => {
    const endpoint = { id: 'ep-1', url: 'x', secretEncrypted: `enc:${K}`, previousSecretEncrypted: `enc:${P}`, previousSecretExpiresAtMs: 1_700_000_000_000, urlCredentialsEncrypted: null };
    expect(sender.endpointSecrets(endpoint, 1_700_000_000_000)).toEqual([K]);
  });

  it('sends URL credentials (stored encrypted, the URL masked) as Basic auth, never in the request line, and parses each target once', async () => {
    const raw = `${origin.replace('http://', 'http://***:***@')}/cred?x=1#frag`;
    const target = sender.target(raw, 'enc:user:p%40ss%20w');
    expect(sender.target(raw, 'enc:user:p%40ss%20w')).toBe(target);
    expect(target.url).toBe(`${origin}/cred?x=1`);
    const outcome = await sender.send({ claim: claim({ webhookEndpointId: null }), target, secrets: [], body: BODY });
    expect(seen[0].url).toBe('/cred?x=1');
    expect(seen[0].headers.authorization).toBe('Basic dXNlcjpwQHNzIHc=');
    expect(seen[0].headers['x-optimaldial-signature']).toBeUndefined();
    expect(outcome).toMatchObject({ status: 'delivered', endpointId: null, targetUrl: raw });
  });

  it('a failure is scheduled, a 410 is marked gone', async () => {
    answer = 410;
    const outcome = await sender.send({ claim: claim({ attemptCount: 0 }), target: sender.target(`${origin}/gone`, null), secrets: [K], body: BODY });
    expect(outcome).toMatchObject({ status: 'pending', gone: true });
    expect(outcome.attempt).toMatchObject({ attemptNumber: 1, responseStatus: 410, errorClass: 'http_status', errorMessage: 'HTTP 410' });
    expect(outcome.nextRetryAt!.getTime()).toBeGreaterThan(1_700_000_000_000);
  });

  it('decrypts each ciphertext once; one that no longer decrypts is a typed error', () => {
    expect(sender.requestSecrets('enc:once')).toEqual(['once']);
    expect(sender.requestSecrets('enc:once')).toEqual(['once']);
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(sender.requestSecrets(null)).toEqual([]);
    expect(() => sender.requestSecrets('broken')).toThrow(SecretUnavailableError);
  });

  it('an attempt that cannot be signed sends nothing and fails on the schedule, exhausting at the last attempt', () => {
    const first = sender.unavailable(claim({ attemptCount: 0 }), 'http://x.example/h');
    expect(seen).toHaveLength(0);
    expect(first).toMatchObject({ status: 'pending', attempt: { attemptNumber: 1, errorMessage: SECRET_UNAVAILABLE, responseStatus: null } });
    expect(sender.unavailable(claim({ attemptCount: 5 }), 'http://x.example/h')).toMatchObject({ status: 'exhausted', nextRetryAt: null });
  });
});
