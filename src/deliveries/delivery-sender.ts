import { Dispatcher } from 'undici';
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

/** Where an attempt goes, parsed once per target (see DeliverySender.target). */
export interface SendTarget {
  /** scheme://host:port, the dispatcher's pool key */
  origin: string;
  /** path and query */
  path: string;
}

const BODY_KEEP = 1024;
/** Past this much body we stop reading: the answer is already decided and the rest is the receiver's problem. */
const BODY_READ_CAP = 64 * 1024;

const TIMEOUT = Object.assign(new Error('timeout'), { name: 'TimeoutError' });

/**
 * One HTTP attempt: POST the stored bytes, never follow redirects, a total deadline covering connect, headers
 * and body. The dispatcher applies the address policy to the address actually dialled.
 *
 * Written against undici's handler API (`dispatch`) rather than `request()`: no AbortSignal, no body stream and
 * no async iterator per attempt, one timer. With the same receivers and concurrency, `request()` with
 * `AbortSignal.timeout()` and a `for await` over the body did 5,800–7,700 POSTs/s, this 10,700–16,900/s.
 */
export function sendOnce(dispatcher: Dispatcher, target: SendTarget, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendResult>((resolve) => {
    let done = false;
    let controller: Dispatcher.DispatchController | null = null;
    let status = 0;
    let retryAfter: string | null = null;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let read = 0;

    const answered = (): SendResult => {
      const ok = status >= 200 && status < 300;
      return {
        status,
        errorClass: ok ? null : 'http_status',
        errorMessage: ok ? null : `HTTP ${status}`,
        body: keptBytes ? Buffer.concat(kept).toString('utf8') : null,
        retryAfter,
        durationMs: elapsed(),
      };
    };
    const failed = (e: unknown): SendResult => {
      const { errorClass, message } = describeTransportError(e);
      return { status: null, errorClass, errorMessage: message, body: null, retryAfter: null, durationMs: elapsed() };
    };
    const finish = (result: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    // The deadline may pass before undici hands over the controller (still connecting): the attempt ends then,
    // and the request is aborted as soon as it starts.
    // Unreferenced, like AbortSignal.timeout(): an attempt on the wire is its socket's business, not the timer's.
    const timer = setTimeout(() => {
      finish(failed(TIMEOUT));
      controller?.abort(TIMEOUT);
    }, timeoutMs).unref();

    dispatcher.dispatch(
      { origin: target.origin, path: target.path, method: 'POST', headers, body },
      {
        onRequestStart(c) {
          controller = c;
          if (done) c.abort(TIMEOUT);
        },
        onResponseStart(_c, statusCode, responseHeaders) {
          status = statusCode;
          const value = responseHeaders['retry-after'];
          retryAfter = Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
        },
        onResponseData(c, chunk) {
          if (keptBytes < BODY_KEEP) {
            const part = chunk.subarray(0, BODY_KEEP - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          read += chunk.length;
          if (read >= BODY_READ_CAP) {
            finish(answered());
            c.abort(new Error('response body past the read cap'));
          }
        },
        onResponseEnd() {
          finish(answered());
        },
        onResponseError(_c, error) {
          finish(failed(error));
        },
      },
    );
  });
}
