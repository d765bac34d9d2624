import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type NanpCountry = 'US' | 'CA';

export interface NormalizedPhone {
  e164: string;
  country: NanpCountry;
  /** libphonenumber-js `max` type, e.g. FIXED_LINE_OR_MOBILE, MOBILE, FIXED_LINE, VOIP. */
  type: string;
}

/** Not subscriber lines a dialer should call: SPEC §4.3 excludes toll-free and premium-rate; the rest are alike. */
const EXCLUDED_TYPES = new Set(['TOLL_FREE', 'PREMIUM_RATE', 'SHARED_COST', 'UAN', 'VOICEMAIL', 'PERSONAL_NUMBER', 'PAGER']);

/**
 * SPEC §4.3: a US or Canadian number in any common shape → E.164, or null when invalid.
 * The digits are reduced to a 10-digit national number first (optionally after a leading 1 / +1), so only NANP
 * shapes are considered; validity is then decided by full metadata (libphonenumber-js `max`): unassigned area
 * codes, exchanges starting with 0 or 1, other NANP countries (Jamaica, …), toll-free and premium-rate are invalid.
 * Exchange 555 is rejected as well: libphonenumber's metadata accepts it, but it is the fictional range.
 */
export function normalizePhone(raw: unknown): NormalizedPhone | null {
  const digits = nanpDigits(raw);
  if (!digits) return null;
  const verdict = prefixVerdict(digits);
  return verdict && { e164: `+1${digits}`, country: verdict.country, type: verdict.type };
}

/**
 * libphonenumber-js `max` costs ~30–50 µs a number, which a 250,000-row list feels. In the NANP metadata every
 * validity and type pattern resolves at the area code + exchange (the first 6 national digits: NPA-NXX), so the
 * verdict is computed once per prefix and reused (bench/uploads.bench.ts measures it; a sample of 222,921 prefixes ×
 * 15 subscriber numbers never disagreed with a full parse). Bounded: cleared past MAX_CACHED_PREFIXES.
 */
const MAX_CACHED_PREFIXES = 500_000;
const prefixCache = new Map<string, { country: NanpCountry; type: string } | null>();

function prefixVerdict(digits: string): { country: NanpCountry; type: string } | null {
  const prefix = digits.slice(0, 6);
  const cached = prefixCache.get(prefix);
  if (cached !== undefined) return cached;
  const verdict = parseVerdict(digits);
  if (prefixCache.size >= MAX_CACHED_PREFIXES) prefixCache.clear();
  prefixCache.set(prefix, verdict);
  return verdict;
}

function parseVerdict(digits: string): { country: NanpCountry; type: string } | null {
  const parsed = parsePhoneNumberFromString(`+1${digits}`);
  if (!parsed || !parsed.isValid()) return null;
  const country = parsed.country;
  if (country !== 'US' && country !== 'CA') return null;
  const type = parsed.getType() ?? 'UNKNOWN';
  return EXCLUDED_TYPES.has(type) ? null : { country, type };
}

/**
 * The cheap first half of normalizePhone: the shape checks only, no metadata. Returns the 10-digit national
 * number a value would normalize to (a valid number's E.164 is always `+1` + these digits), or null when the
 * value cannot be a NANP number at all. A candidate is not necessarily valid: use normalizePhone for that.
 */
export function nanpDigits(raw: unknown): string | null {
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (!text || text.length > 40 || /[a-z]/i.test(text)) return null;
  let digits = text.replace(/[\s().\-/+]/g, '');
  if (!/^\d+$/.test(digits) || (text.includes('+') && !/^\+\s*1/.test(text))) return null;
  if (digits.length === 11 && digits[0] === '1') digits = digits.slice(1);
  if (digits.length !== 10 || digits.slice(3, 6) === '555') return null;
  return digits;
}
