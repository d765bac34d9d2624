import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** SPEC §5.4: 32 random bytes as 64 lowercase hex characters. */
export const generateWebhookSecret = (): string => randomBytes(32).toString('hex');
/** SPEC §6.2 `webhook.ping`: 32 hex characters. */
export const generateChallenge = (): string => randomBytes(16).toString('hex');

export const USER_AGENT = 'OptimalDial-Webhooks/1.0';

/** Stripe-compatible `v1`: hex HMAC-SHA256 over `<timestamp>.<body>`, key = the secret string's UTF-8 bytes. */
export function signStripeStyle(secret: string, timestampSeconds: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/** Standard Webhooks `v1,<base64>` over `<event id>.<timestamp>.<body>` under the same key bytes. */
export function signStandardWebhooks(secret: string, eventId: string, timestampSeconds: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${eventId}.${timestampSeconds}.`).update(body).digest('base64');
}

export interface DeliveryHeaderInput {
  eventType: string;
  eventId: string;
  deliveryId: string;
  attempt: number;
  timestampSeconds: number;
  body: Buffer;
  /** Zero secrets (an unsigned per-request webhook), one, or two during a secret rotation (SPEC §5.8). */
  secrets: string[];
}

/** The SPEC §6.3 header set for one attempt. Without a secret the signature headers are omitted (SPEC §7.1). */
export function buildDeliveryHeaders(input: DeliveryHeaderInput): Record<string, string> {
  const t = input.timestampSeconds;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'x-optimaldial-event': input.eventType,
    'x-optimaldial-event-id': input.eventId,
    'x-optimaldial-delivery-id': input.deliveryId,
    'x-optimaldial-attempt': String(input.attempt),
    'x-optimaldial-timestamp': String(t),
    'webhook-id': input.eventId,
    'webhook-timestamp': String(t),
  };
  if (input.secrets.length) {
    headers['x-optimaldial-signature'] = [`t=${t}`, ...input.secrets.map((s) => `v1=${signStripeStyle(s, t, input.body)}`)].join(',');
    headers['webhook-signature'] = input.secrets.map((s) => `v1,${signStandardWebhooks(s, input.eventId, t, input.body)}`).join(' ');
  }
  return headers;
}

export type WebhookVerificationErrorCode = 'signature_mismatch' | 'timestamp_out_of_tolerance' | 'malformed_header';

export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookVerificationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface VerifiedWebhookEvent<T = Record<string, unknown>> {
  id: string;
  type: string;
  api_version: string;
  created_at: string;
  data: T;
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const direct = headers[name] ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? ''];
  return Array.isArray(direct) ? direct[0] : direct;
}

/**
 * The receiver-side check SPEC §6.3 documents: verifies `X-OptimalDial-Signature` (any `v1` entry may match, so
 * it keeps working through a secret rotation) and the timestamp tolerance, then returns the parsed event.
 * Pass the raw request body exactly as received.
 */
export function verifyWebhook<T = Record<string, unknown>>(
  rawBody: Buffer | string,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): VerifiedWebhookEvent<T> {
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8');
  const header = headerValue(headers, 'x-optimaldial-signature');
  if (!header) throw new WebhookVerificationError('malformed_header', 'X-OptimalDial-Signature is missing');
  let timestamp: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === null || !candidates.length) {
    throw new WebhookVerificationError('malformed_header', 'X-OptimalDial-Signature must look like t=<unix seconds>,v1=<64 hex>');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError('timestamp_out_of_tolerance', `timestamp is more than ${tolerance} s from now`);
  }
  const expected = Buffer.from(signStripeStyle(secret, timestamp, body), 'hex');
  if (!candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected))) {
    throw new WebhookVerificationError('signature_mismatch', 'no v1 signature matches this secret and body');
  }
  try {
    return JSON.parse(body.toString('utf8')) as VerifiedWebhookEvent<T>;
  } catch {
    throw new WebhookVerificationError('malformed_header', 'the signed body is not JSON');
  }
}
