import { Dispatcher, request } from 'undici';
import { describeTransportError } from '../net/transport-errors';
import { ErrorClass } from './delivery-attempt.entity';

export interface SendResult {
  status: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  /** First 1 KB of the body, as text. */
  body: string | null;
  retryAfter: string | null;
  durationMs: number;
}

const BODY_KEEP = 1024;
/** Past this much body we stop reading: the answer is already decided and the rest is the receiver's problem. */
const BODY_READ_CAP = 64 * 1024;

/**
 * One HTTP attempt: POST the stored bytes, never follow redirects, a total deadline covering connect, headers
 * and body. The dispatcher applies the address policy to the address actually dialled.
 */
export async function sendOnce(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<SendResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, { method: 'POST', headers, body, dispatcher, signal, maxRedirections: 0 } as Parameters<typeof request>[1]);
    const chunks: Buffer[] = [];
    let kept = 0;
    let read = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (kept < BODY_KEEP) {
        const part = chunk.subarray(0, BODY_KEEP - kept);
        chunks.push(part);
        kept += part.length;
      }
      read += chunk.length;
      if (read >= BODY_READ_CAP) {
        res.body.destroy();
        break;
      }
    }
    const status = res.statusCode;
    const ok = status >= 200 && status < 300;
    const retryAfter = res.headers['retry-after'];
    return {
      status,
      errorClass: ok ? null : 'http_status',
      errorMessage: ok ? null : `HTTP ${status}`,
      body: kept ? Buffer.concat(chunks).toString('utf8') : null,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : (retryAfter ?? null),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (e) {
    const { errorClass, message } = describeTransportError(signal.aborted ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : e);
    return { status: null, errorClass, errorMessage: message, body: null, retryAfter: null, durationMs: Math.round(performance.now() - started) };
  }
}
