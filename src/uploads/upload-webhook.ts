import { ApiError } from '../common/api-error';
import { validateInput } from '../common/validation';
import { UploadWebhookHashDto } from './upload.dto';

export interface ParsedUploadWebhook {
  url: string;
  delay: number;
  secret: string | null;
}

/**
 * SPEC §7.1 shape check of the `webhook` hash, by UploadWebhookHashDto's rules (the URL's safety is checked
 * separately, with DNS). Takes the hash as an object (JSON form, host applications) or JSON-encoded (multipart).
 * `delay` absent means 0 (deliver at once); an explicit 0 is out of range.
 */
export function parseUploadWebhook(raw: unknown): ParsedUploadWebhook {
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw ApiError.validation('webhook must be a JSON object', { webhook: ['must be a JSON object'] });
    }
  }
  const hash = validateInput(UploadWebhookHashDto, raw, 'webhook');
  return { url: hash.url, delay: hash.delay ?? 0, secret: hash.secret ?? null };
}
