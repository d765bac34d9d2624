// The only code that talks to the service: relative /api/v1 URLs (same origin), the key as a bearer header.
// The key is kept in sessionStorage alone: never in a URL, a cookie, localStorage or a log line.

const KEY_NAME = 'optimaldial.panel.apiKey';

export const keyStore = {
  get: () => sessionStorage.getItem(KEY_NAME),
  set: (key) => sessionStorage.setItem(KEY_NAME, key),
  clear: () => sessionStorage.removeItem(KEY_NAME),
};

/** An answer the API refused: `message` is what the person reads, built from the SPEC §2 `detail`. */
class ApiFailure extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

/** `detail` as text: the string itself, or an object's message/error plus the context a person needs. */
function describeError(status, body) {
  const detail = body && typeof body === 'object' ? body.detail : undefined;
  let text;
  if (typeof detail === 'string') text = detail;
  else if (detail && typeof detail === 'object') {
    text = detail.message || detail.error || JSON.stringify(detail);
    const extras = [];
    if (detail.error && detail.message) extras.push(`error: ${detail.error}`);
    if ('status_code' in detail) extras.push(`status_code: ${detail.status_code === null ? 'none' : detail.status_code}`);
    if ('underlying_error' in detail && detail.underlying_error) extras.push(`underlying_error: ${detail.underlying_error}`);
    if (detail.reason) extras.push(`reason: ${detail.reason}`);
    if (detail.status) extras.push(`status: ${detail.status}`);
    if (detail.required_scope) extras.push(`required scope: ${detail.required_scope}`);
    if (detail.retry_after_seconds) extras.push(`retry after ${detail.retry_after_seconds} s`);
    if (detail.fields) {
      for (const [field, problems] of Object.entries(detail.fields)) extras.push(`${field}: ${[].concat(problems).join(', ')}`);
    }
    if (detail.request_id) extras.push(`request id: ${detail.request_id}`);
    if (extras.length) text += ` (${extras.join('; ')})`;
  } else text = 'The service answered without an error detail';
  return `${status}: ${text}`;
}

/** Calls the API; resolves with { data, headers } on 2xx, rejects with an ApiFailure otherwise. */
export async function api(key, method, path, body) {
  if (!path.startsWith('/api/v1/')) throw new Error('the panel only calls the public REST API');
  const headers = { Accept: 'application/json', Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiFailure(0, { detail: `The service could not be reached (${e.message})` });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  if (!res.ok) throw new ApiFailure(res.status, data);
  return { data, headers: res.headers };
}
