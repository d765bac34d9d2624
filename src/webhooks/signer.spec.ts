import { Webhook } from 'standardwebhooks';
import { buildDeliveryHeaders, signStripeStyle, verifyWebhook, WebhookVerificationError } from './signer';

const secret = 'a'.repeat(64);
const body = Buffer.from('{"id":"evt_0123456789abcdef01234567","type":"upload.completed","data":{}}');
const base = { eventType: 'upload.completed', eventId: 'evt_0123456789abcdef01234567', deliveryId: 'd-1', attempt: 2, timestampSeconds: 1_700_000_000, body };

describe('signer', () => {
  it('signs Stripe-style: hex HMAC-SHA256 of "<t>.<body>" under the secret string bytes (fixed vector)', () => {
    // python3 -c 'import hmac,hashlib;print(hmac.new(b"a"*64,b"1700000000.{}",hashlib.sha256).hexdigest())'
    expect(signStripeStyle(secret, 1_700_000_000, Buffer.from('{}'))).toBe('178720ea191118a30ad651bcd4a7bc80cc4e454035a098096487b1484430299a');
    const h = buildDeliveryHeaders({ ...base, secrets: [secret] });
    expect(h['x-optimaldial-signature']).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(h['x-optimaldial-attempt']).toBe('2');
    expect(h['user-agent']).toBe('OptimalDial-Webhooks/1.0');
  });

  it('Standard Webhooks headers verify with the official library under whsec_ + base64(secret)', () => {
    const h = buildDeliveryHeaders({ ...base, timestampSeconds: Math.floor(Date.now() / 1000), secrets: [secret] });
    const wh = new Webhook('whsec_' + Buffer.from(secret, 'utf8').toString('base64'));
    expect(wh.verify(body.toString(), h)).toEqual(JSON.parse(body.toString()));
    expect(() => new Webhook('whsec_' + Buffer.from('b'.repeat(64)).toString('base64')).verify(body.toString(), h)).toThrow();
  });

  it('carries two signatures during a rotation, and none without a secret', () => {
    const h = buildDeliveryHeaders({ ...base, secrets: [secret, 'b'.repeat(64)] });
    expect(h['x-optimaldial-signature'].match(/v1=/g)).toHaveLength(2);
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    const unsigned = buildDeliveryHeaders({ ...base, secrets: [] });
    expect(unsigned['x-optimaldial-signature']).toBeUndefined();
    expect(unsigned['webhook-signature']).toBeUndefined();
    expect(unsigned['webhook-id']).toBe(base.eventId);
  });

  describe('verifyWebhook', () => {
    const now = 1_700_000_100;
    const headers = (secrets: string[], t = 1_700_000_000) => buildDeliveryHeaders({ ...base, timestampSeconds: t, secrets });

    it('returns the parsed event for a valid signature (either secret of a rotation)', () => {
      expect(verifyWebhook(body, headers([secret]), secret, { nowSeconds: now }).type).toBe('upload.completed');
      expect(verifyWebhook(body.toString(), headers(['b'.repeat(64), secret]), secret, { nowSeconds: now }).id).toBe(base.eventId);
    });

    it.each([
      ['signature_mismatch', () => verifyWebhook(body, headers(['b'.repeat(64)]), secret, { nowSeconds: now })],
      ['signature_mismatch', () => verifyWebhook(Buffer.concat([body, Buffer.from(' ')]), headers([secret]), secret, { nowSeconds: now })],
      ['timestamp_out_of_tolerance', () => verifyWebhook(body, headers([secret]), secret, { nowSeconds: now + 400 })],
      ['timestamp_out_of_tolerance', () => verifyWebhook(body, headers([secret], now + 301), secret, { nowSeconds: now })],
      ['malformed_header', () => verifyWebhook(body, {}, secret)],
      ['malformed_header', () => verifyWebhook(body, { 'x-optimaldial-signature': 'v1=abc' }, secret)],
    ])('throws %s', (code, fn) => {
      try {
        fn();
        throw new Error('did not throw');
      } catch (e) {
        expect(e).toBeInstanceOf(WebhookVerificationError);
        expect((e as WebhookVerificationError).code).toBe(code);
      }
    });
  });
});
