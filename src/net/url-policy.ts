/**
 * SPEC §5.3 URL syntax rules. Pure: the address check is AddressPolicy's job (safe-lookup.ts).
 */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: 'invalid_url' | 'not_https'; message: string };

export const MAX_URL_LENGTH = 2048;

/**
 * `scheme://` followed by an authority. WHATWG parsing is lenient where RFC 3986 is not (`https:host`,
 * `https:///host`, `https:\\host` all become `https://host/`); requiring the authority form up front keeps what
 * we accept close to what the customer wrote.
 */
const AUTHORITY_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/\\?#]/i;
/** Whitespace, control characters and backslashes are not valid in an RFC 3986 URI; WHATWG silently drops or rewrites them. */
const FORBIDDEN_CHARS = /[\u0000-\u0020\u007f\\]/;

export function validateWebhookUrl(raw: unknown, opts: { allowHttp: boolean }): UrlVerdict {
  if (typeof raw !== 'string' || raw.length === 0) return invalid('The URL must be a non-empty string');
  if (raw.length > MAX_URL_LENGTH) return invalid(`The URL must be at most ${MAX_URL_LENGTH} characters`);
  if (FORBIDDEN_CHARS.test(raw)) return invalid('The URL contains whitespace, control characters or backslashes');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid('The URL is not a valid absolute URL');
  }
  const schemeOk = url.protocol === 'https:' || (opts.allowHttp && url.protocol === 'http:');
  if (!schemeOk) {
    return { ok: false, reason: 'not_https', message: opts.allowHttp ? 'The URL scheme must be https or http' : 'The URL scheme must be https' };
  }
  if (!AUTHORITY_FORM.test(raw) || !url.hostname) return invalid('The URL must have a host');
  if (decodeUserInfo(url.username) === null || decodeUserInfo(url.password) === null) {
    return invalid('The URL user info has invalid percent-encoding');
  }
  url.hash = '';
  // The limit applies to the URL we store and dial: WHATWG normalization can lengthen it (percent-encoding of
  // non-ASCII, punycode hosts), and a stored URL over the limit would not fit the 2048-character column.
  if (url.href.length > MAX_URL_LENGTH) return invalid(`The URL must be at most ${MAX_URL_LENGTH} characters once normalized`);
  return { ok: true, url };
}

/** HTTP Basic credentials from the URL's user info (SPEC §5.3), or undefined when it has none. */
export function basicAuthHeader(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const user = decodeUserInfo(url.username) ?? url.username;
  const pass = decodeUserInfo(url.password) ?? url.password;
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
}

/** A copy of the URL without user info and fragment: what goes on the wire (credentials travel in the header). */
export function stripCredentials(url: URL): URL {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.hash = '';
  return copy;
}

function decodeUserInfo(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

function invalid(message: string): UrlVerdict {
  return { ok: false, reason: 'invalid_url', message };
}

/** For showing a stored URL back (API responses): user info is a credential, so it is masked. */
export function redactCredentials(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return raw;
  }
}
