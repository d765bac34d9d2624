/** SPEC §6.1 error classes for an attempt that got no HTTP response (plus `http_status` for one that did). */
export type TransportErrorClass = 'timeout' | 'connection' | 'dns' | 'unsafe_address' | 'tls';

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|EPROTO$)/;
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ERR_CANCELED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED', 'ABORT_ERR']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA']);

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  reason?: string;
  dnsCode?: string;
}

/**
 * Classifies an error from axios or undici (either may wrap the socket error in `cause`) and gives a short,
 * secret-free message for `last_error` / `underlying_error`.
 */
export function describeTransportError(error: unknown): { errorClass: TransportErrorClass; message: string } {
  const chain: ErrorLike[] = [];
  for (let e = error as ErrorLike | undefined, i = 0; e && typeof e === 'object' && i < 6; e = e.cause as ErrorLike | undefined, i++) chain.push(e);
  const codes = chain.map((e) => e.code ?? '');
  const names = chain.map((e) => e.name ?? '');
  const unsafe = chain.find((e) => e.code === 'EUNSAFEADDRESS');
  if (unsafe) {
    if (unsafe.reason === 'unresolvable') return { errorClass: 'dns', message: `DNS lookup failed${unsafe.dnsCode ? ` (${unsafe.dnsCode})` : ''}` };
    return { errorClass: 'unsafe_address', message: 'the host resolved to an address that is not public' };
  }
  const dns = codes.find((c) => DNS_CODES.has(c));
  if (dns) return { errorClass: 'dns', message: `DNS lookup failed (${dns})` };
  const tls = codes.find((c) => TLS_CODES.test(c));
  if (tls) return { errorClass: 'tls', message: `TLS handshake failed (${tls})` };
  if (codes.some((c) => TIMEOUT_CODES.has(c)) || names.some((n) => n === 'TimeoutError' || n === 'AbortError')) {
    return { errorClass: 'timeout', message: 'timed out' };
  }
  const conn = codes.find((c) => c.startsWith('E') || c.startsWith('UND_ERR'));
  if (conn) return { errorClass: 'connection', message: `connection failed (${conn})` };
  const msg = chain.find((e) => e.message)?.message ?? 'request failed';
  if (/certificate|ssl|tls/i.test(msg)) return { errorClass: 'tls', message: 'TLS handshake failed' };
  return { errorClass: 'connection', message: msg.slice(0, 200) };
}
