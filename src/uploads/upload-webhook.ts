import { ApiError } from '../common/api-error';

export interface ParsedUploadWebhook {
  url: string;
  delay: number;
  secret: string | null;
}

const MAX_DELAY = 604_800;

/**
 * SPEC §7.1 shape check of the `webhook` hash (the URL's safety is checked separately, with DNS).
 * `delay` is 1–604800 when given; absent means 0 (deliver at once). An explicit 0 is out of range.
 */
export function parseUploadWebhook(raw: unknown): ParsedUploadWebhook {
  const fail = (field: string, msg: string) => ApiError.validation(`webhook.${field} ${msg}`, { [`webhook.${field}`]: [msg] });
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw ApiError.validation('webhook must be a JSON object', { webhook: ['must be a JSON object'] });
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw ApiError.validation('webhook must be an object', { webhook: ['must be an object'] });
  const h = raw as Record<string, unknown>;
  for (const k of Object.keys(h)) if (!['url', 'delay', 'secret'].includes(k)) throw fail(k, 'is not a recognised field');
  if (typeof h.url !== 'string' || !h.url) throw fail('url', 'is required');
  let delay = 0;
  if (h.delay !== undefined) {
    if (typeof h.delay !== 'number' || !Number.isInteger(h.delay) || h.delay < 1 || h.delay > MAX_DELAY) {
      throw fail('delay', `must be an integer between 1 and ${MAX_DELAY}`);
    }
    delay = h.delay;
  }
  let secret: string | null = null;
  if (h.secret !== undefined && h.secret !== null) {
    if (typeof h.secret !== 'string' || h.secret.length < 16 || h.secret.length > 128) throw fail('secret', 'must be a string of 16 to 128 characters');
    secret = h.secret;
  }
  return { url: h.url, delay, secret };
}
