import { basicAuthHeader, redactCredentials, stripCredentials } from './url-policy';

/**
 * Webhook URLs may carry `user:password@` (sent as HTTP Basic auth, SPEC §5.3). At rest the URL column holds the
 * masked form (`https://***:***@host/path?q`, what every response shows, still queryable by host and path) and
 * the user info itself is stored apart, encrypted like the signing secrets. These pure functions are the whole
 * scheme: the endpoint, the per-request webhook and the migration of existing rows all go through them.
 */
export interface SealedUrl {
  /** The URL with its user info masked (`***`), or the URL unchanged when it has none. */
  url: string;
  /** `encrypt("<username>:<password>")` in the URL's own percent-encoding, or null when there is none. */
  credentialsEncrypted: string | null;
}

export type Encrypt = (plaintext: string) => string;
export type Decrypt = (ciphertext: string) => string;

/** Splits a URL into its masked form and its encrypted user info. */
export function sealUrl(raw: string, encrypt: Encrypt): SealedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw, credentialsEncrypted: null };
  }
  if (!url.username && !url.password) return { url: url.toString(), credentialsEncrypted: null };
  return { url: redactCredentials(url.toString()), credentialsEncrypted: encrypt(`${url.username}:${url.password}`) };
}

/** The full URL again (user info restored); a URL without stored credentials is returned as it is. */
export function openUrl(stored: string, credentialsEncrypted: string | null, decrypt: Decrypt): string {
  if (!credentialsEncrypted) return stored;
  const url = new URL(stored);
  const userinfo = decrypt(credentialsEncrypted);
  const colon = userinfo.indexOf(':');
  url.username = colon < 0 ? userinfo : userinfo.slice(0, colon);
  url.password = colon < 0 ? '' : userinfo.slice(colon + 1);
  return url.toString();
}

/** What an attempt needs: the URL to dial (no user info) and the Basic `Authorization` header, if any. */
export function sendingTarget(stored: string, credentialsEncrypted: string | null, decrypt: Decrypt): { url: string; authorization: string | undefined } {
  const full = new URL(openUrl(stored, credentialsEncrypted, decrypt));
  return { url: stripCredentials(full).toString(), authorization: basicAuthHeader(full) };
}
