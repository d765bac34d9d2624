/**
 * Receiver fault matrix (issue 9, SPEC §6.4–6.6): receivers that misbehave in every way we could think of, each
 * behind its own registered endpoint, all attempted in the same drain as a healthy endpoint.
 *
 * Scaled for CI: DELIVERY_TIMEOUT_MS is 1000 instead of 10,000, so "answers after 11 s" becomes "answers after
 * 1.5 s" and the trickle is one byte per 100 ms (both well past the deadline). The huge body is up to 1 GB, produced
 * only as fast as the service reads it: the service must stop reading after its cap, not drain it.
 *
 * For each fault: the attempt's error class, next_retry_at on the SPEC §6.5 schedule (or Retry-After), the
 * endpoint's bookkeeping (consecutive_failures, last_failure_at, is_active / disabled_at); and the healthy
 * endpoint's deliveries published at the same time are delivered in the same drain with small attempt durations.
 */
import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { DeliveryProcessor } from '../../src/deliveries/delivery.processor';
import { RETRY_DELAYS_MS } from '../../src/deliveries/retry-schedule';
import { LOCAL_DELIVERY_ENV, ReceivedRequest, Receiver } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { sleep } from './support';

const TIMEOUT_MS = 1000;
const MIN = 60_000;
const HOUR = 3600_000;
const MB = 1024 * 1024;

type Responder = (req: ReceivedRequest, res: ServerResponse) => void;

interface Fault {
  name: string;
  respond: Responder;
  /** Expected attempt result: an error class, or null for delivered. */
  errorClass: string | null;
  status?: number | null;
  /** Expected gap between the attempt's end and next_retry_at: [min, max] ms. */
  gap?: (finishedAtMs: number) => [number, number];
  disables?: boolean;
  check?: (f: Fault & { attempt: any; receiver: Receiver }) => void;
}

describe('receiver fault matrix (SPEC §6.4–6.6)', () => {
  let t: TestApp;
  let org: TestOrg;
  const receivers: Receiver[] = [];
  let redirectTarget: Receiver;
  const timers = new Set<NodeJS.Timeout>();
  let hugeBytesSent = 0;
  let hugeErrorBytesSent = 0;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        ...LOCAL_DELIVERY_ENV,
        DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
        WEBHOOK_PING_TIMEOUT_MS: '2000',
        RATE_LIMIT_PER_KEY: '100000',
        RATE_LIMIT_PER_ORGANIZATION: '100000',
      },
    });
    org = await t.createOrganization();
    redirectTarget = await Receiver.http();
    receivers.push(redirectTarget);
  });
  afterAll(async () => {
    for (const tm of timers) clearInterval(tm);
    for (const r of receivers) await r.close().catch(() => undefined);
    await t?.close();
  });

  const drain = () => t.get(DeliveryProcessor).processDueDeliveries();

  async function endpoint(r: Receiver, path = '/hook'): Promise<string> {
    r.respond = (_q, res) => {
      res.writeHead(204);
      res.end();
    };
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${r.url}${path}`, events: ['upload.completed'] });
    if (res.status !== 200) throw new Error(`endpoint create failed: ${res.status} ${JSON.stringify(res.body)}`);
    r.reset();
    return res.body.webhook.id;
  }

  async function testEvent(endpointId: string): Promise<string> {
    const res = await t.http.post(`/api/v1/webhooks/${endpointId}/test`).set(org.auth).send({ event_type: 'upload.completed' }).expect(200);
    return res.body.delivery_id;
  }

  const delivery = async (id: string) => (await t.http.get(`/api/v1/deliveries/${id}`).set(org.auth).expect(200)).body;
  const endpointState = async (id: string) => (await t.http.get(`/api/v1/webhooks/${id}`).set(org.auth).expect(200)).body;

  /** The first attempt failed: next try in 1 min ± 10 % (plus a second of rounding). */
  const schedule1 = (): [number, number] => [0.9 * MIN - 1000, 1.1 * MIN + 1000];

  /** Streams `total` bytes only as fast as the peer reads; counts what actually left. */
  function stream(res: ServerResponse, total: number, onSent: (n: number) => void): void {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        onSent(chunk.length);
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (sent >= total) res.end();
    };
    res.on('error', () => undefined);
    pump();
  }

  const faults: Fault[] = [
    {
      name: 'answers after 1.5 s (the "11 s" case at a 1 s deadline)',
      respond: (_q, res) => {
        const tm = setTimeout(() => {
          if (!res.destroyed) {
            res.writeHead(200);
            res.end('late');
          }
        }, 1500);
        timers.add(tm);
      },
      errorClass: 'timeout',
      status: null,
      gap: schedule1,
    },
    {
      name: 'sends headers, then stalls the body',
      respond: (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('partial');
        res.on('error', () => undefined);
      },
      errorClass: 'timeout',
      gap: schedule1,
    },
    {
      name: 'trickles one byte per 100 ms',
      respond: (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '600' });
        res.on('error', () => undefined);
        const tm = setInterval(() => (res.destroyed ? clearInterval(tm) : res.write('.')), 100);
        timers.add(tm);
      },
      errorClass: 'timeout',
      gap: schedule1,
    },
    {
      name: 'resets the connection mid-response',
      respond: (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('x'.repeat(1000), () => setTimeout(() => (res.socket as Socket | null)?.resetAndDestroy(), 20));
      },
      errorClass: 'connection',
      gap: schedule1,
    },
    {
      name: 'resets the connection before answering',
      respond: (_q, res) => void (res.socket as Socket | null)?.resetAndDestroy(),
      errorClass: 'connection',
      status: null,
      gap: schedule1,
    },
    {
      name: 'answers garbage instead of HTTP',
      respond: (_q, res) => void res.socket?.end('SMTP ready\r\n\r\n\u0000\u0001garbage'),
      errorClass: 'connection',
      status: null,
      gap: schedule1,
    },
    {
      name: '200 with a 1 GB body (must be cut off, not read)',
      respond: (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        stream(res, 1024 * MB, (n) => (hugeBytesSent += n));
      },
      errorClass: null,
      status: 200,
      check: (f) => {
        expect(f.attempt.duration_ms).toBeLessThan(TIMEOUT_MS);
        expect(f.attempt.response_body?.length ?? 0).toBeLessThanOrEqual(1024);
      },
    },
    {
      name: '500 with a 1 GB body',
      respond: (_q, res) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        stream(res, 1024 * MB, (n) => (hugeErrorBytesSent += n));
      },
      errorClass: 'http_status',
      status: 500,
      gap: schedule1,
      check: (f) => {
        expect(f.attempt.duration_ms).toBeLessThan(TIMEOUT_MS);
        expect(Buffer.byteLength(f.attempt.response_body ?? '')).toBeLessThanOrEqual(1024);
        expect(f.attempt.response_body).toMatch(/^x+$/);
      },
    },
    ...[301, 302, 307, 308].map(
      (code): Fault => ({
        name: `${code} with Location on another loopback server`,
        respond: (_q, res) => {
          res.writeHead(code, { location: `${redirectTarget.url}/stolen?code=${code}` });
          res.end();
        },
        errorClass: 'http_status',
        status: code,
        gap: schedule1,
      }),
    ),
    {
      name: '429 with Retry-After in seconds (7200)',
      respond: (_q, res) => {
        res.writeHead(429, { 'retry-after': '7200' });
        res.end('slow down');
      },
      errorClass: 'http_status',
      status: 429,
      gap: () => [2 * HOUR - 1000, 2 * HOUR + 1000],
    },
    {
      name: '429 with Retry-After as an HTTP date 3 h ahead',
      respond: (_q, res) => {
        res.writeHead(429, { 'retry-after': new Date(Date.now() + 3 * HOUR).toUTCString() });
        res.end();
      },
      errorClass: 'http_status',
      status: 429,
      gap: () => [3 * HOUR - 3000, 3 * HOUR + 1000],
    },
    {
      name: '503 with Retry-After in seconds (600)',
      respond: (_q, res) => {
        res.writeHead(503, { 'retry-after': '600' });
        res.end();
      },
      errorClass: 'http_status',
      status: 503,
      gap: () => [10 * MIN - 1000, 10 * MIN + 1000],
    },
    {
      name: '410 Gone',
      respond: (_q, res) => {
        res.writeHead(410);
        res.end('gone');
      },
      errorClass: 'http_status',
      status: 410,
      disables: true,
    },
    {
      name: 'HTTP/1.0 200, Connection: close, body until close',
      respond: (_q, res) => void res.socket?.end('HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nok, the old way'),
      errorClass: null,
      status: 200,
      check: (f) => expect(f.attempt.response_body).toBe('ok, the old way'),
    },
    {
      name: 'HTTP/1.0 500, Connection: close',
      respond: (_q, res) => void res.socket?.end('HTTP/1.0 500 Internal Server Error\r\nConnection: close\r\n\r\nboom'),
      errorClass: 'http_status',
      status: 500,
      gap: schedule1,
    },
  ];

  it(`classifies ${faults.length} faults, schedules their retries, keeps the books — and the healthy endpoint is not slowed`, async () => {
    // every fault gets its own receiver and endpoint; one healthy endpoint shares the drain
    const wired: Array<Fault & { receiver: Receiver; endpointId: string; deliveryId: string; attempt?: any }> = [];
    for (const f of faults) {
      const receiver = await Receiver.http();
      receivers.push(receiver);
      const endpointId = await endpoint(receiver);
      wired.push({ ...f, receiver, endpointId, deliveryId: '' });
    }
    const healthy = await Receiver.http();
    receivers.push(healthy);
    const healthyId = await endpoint(healthy);
    for (const w of wired) w.receiver.respond = w.respond;

    // baseline: the healthy endpoint alone (this machine's latency, whatever its load)
    const baselineIds: string[] = [];
    for (let i = 0; i < 5; i++) baselineIds.push(await testEvent(healthyId));
    let started = Date.now();
    await drain();
    const baseline = await Promise.all(baselineIds.map(delivery));
    const baselineArrivals = healthy.requests.map((q) => q.at - started);
    healthy.reset();

    for (const w of wired) w.deliveryId = await testEvent(w.endpointId);
    const healthyDeliveries: string[] = [];
    for (let i = 0; i < 5; i++) healthyDeliveries.push(await testEvent(healthyId));

    started = Date.now();
    await drain();
    const drainMs = Date.now() - started;

    // the healthy endpoint: every delivery in this very drain, none of them waiting for a fault's deadline
    const healthyArrivals = healthy.requests.map((q) => q.at - started);
    const healthyAttempts = await Promise.all(healthyDeliveries.map(delivery));
    const timeoutFaultEnds = (await Promise.all(wired.filter((w) => w.errorClass === 'timeout').map((w) => delivery(w.deliveryId)))).map((d) => Date.parse(d.attempts[0].finished_at));
    process.stderr.write(
      `receiver faults (${t.config.databaseType}): ${faults.length} faults + 1 healthy endpoint in one drain of ${drainMs} ms; ` +
        `healthy alone: arrivals ${baselineArrivals.join(', ')} ms, durations ${baseline.map((d) => d.attempts[0]?.duration_ms).join(', ')} ms; ` +
        `healthy among the faults: arrivals ${healthyArrivals.join(', ')} ms, durations ${healthyAttempts.map((d) => d.attempts[0]?.duration_ms).join(', ')} ms; ` +
        `first timeout at ${Math.min(...timeoutFaultEnds) - started} ms; ` +
        `1 GB bodies: ${(hugeBytesSent / MB).toFixed(1)} MB and ${(hugeErrorBytesSent / MB).toFixed(1)} MB left the receivers; redirect target hits ${redirectTarget.requests.length}\n`,
    );
    expect(healthy.requests).toHaveLength(5);
    for (const d of healthyAttempts) {
      expect(d).toMatchObject({ status: 'delivered', attempt_count: 1 });
      // far from the deadline the faulty receivers ran into
      expect(d.attempts[0].duration_ms).toBeLessThan(TIMEOUT_MS);
      expect(Date.parse(d.attempts[0].finished_at)).toBeLessThan(Math.min(...timeoutFaultEnds));
    }
    for (const q of healthy.requests) expect(q.at).toBeLessThan(Math.min(...timeoutFaultEnds));
    expect(await endpointState(healthyId)).toMatchObject({ is_active: true, consecutive_failures: 0 });

    // every fault: class, status, schedule, bookkeeping
    const problems: string[] = [];
    for (const w of wired) {
      const d = await delivery(w.deliveryId);
      const attempt = d.attempts[0];
      w.attempt = attempt;
      const state = await endpointState(w.endpointId);
      const say = (msg: string) => problems.push(`${w.name}: ${msg} (attempt ${JSON.stringify(attempt)}, delivery ${d.status}/${d.next_retry_at})`);
      if (d.attempts.length !== 1) say(`expected 1 attempt, got ${d.attempts.length}`);
      if (!attempt) continue;
      if (attempt.error_class !== w.errorClass) say(`error_class ${attempt.error_class}, expected ${w.errorClass}`);
      if (w.status !== undefined && attempt.response_status !== w.status) say(`response_status ${attempt.response_status}, expected ${w.status}`);
      if (w.errorClass === null) {
        if (d.status !== 'delivered') say(`status ${d.status}, expected delivered`);
        if (state.consecutive_failures !== 0 || !state.last_success_at) say(`endpoint books ${JSON.stringify(state)}`);
      } else {
        if (d.status !== 'pending') say(`status ${d.status}, expected pending`);
        if (state.consecutive_failures !== 1 || !state.last_failure_at || state.last_success_at) say(`endpoint books: consecutive_failures ${state.consecutive_failures}, last_failure_at ${state.last_failure_at}`);
        if (w.gap) {
          const gap = Date.parse(d.next_retry_at) - Date.parse(attempt.finished_at);
          const [lo, hi] = w.gap(Date.parse(attempt.finished_at));
          if (!(gap >= lo && gap <= hi)) say(`next_retry_at is ${gap} ms after the attempt, expected ${lo}–${hi}`);
        }
      }
      if (w.disables) {
        if (state.is_active !== false || !state.disabled_at) say(`expected the endpoint disabled, got is_active ${state.is_active}, disabled_at ${state.disabled_at}`);
      } else if (state.is_active !== true || state.disabled_at) say(`endpoint disabled by a single ${w.name}`);
      if (attempt.duration_ms > TIMEOUT_MS + 500) say(`attempt took ${attempt.duration_ms} ms, past the ${TIMEOUT_MS} ms deadline`);
      try {
        w.check?.(w as Fault & { attempt: any; receiver: Receiver });
      } catch (e) {
        say((e as Error).message.split('\n').slice(0, 3).join(' '));
      }
    }
    if (problems.length) process.stderr.write(`fault matrix problems:\n - ${problems.join('\n - ')}\n`);
    expect(problems).toEqual([]);
    // redirects are failures and never followed; huge bodies are cut off, not read
    expect(redirectTarget.requests).toHaveLength(0);
    expect(hugeBytesSent).toBeLessThan(64 * MB);
    expect(hugeErrorBytesSent).toBeLessThan(64 * MB);
    // every fault receiver saw exactly one attempt
    for (const w of wired) expect({ name: w.name, requests: w.receiver.requests.length }).toEqual({ name: w.name, requests: 1 });
    for (const id of [...wired.map((w) => w.endpointId), healthyId]) await t.http.delete(`/api/v1/webhooks/${id}`).set(org.auth).expect(200);
  });

  it('a delivery published while slow attempts are on the wire is not held back until they time out', async () => {
    const slow: Receiver[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await Receiver.http();
      receivers.push(r);
      slow.push(r);
    }
    const slowIds = [];
    for (const r of slow) slowIds.push(await endpoint(r));
    const healthy = await Receiver.http();
    receivers.push(healthy);
    const healthyId = await endpoint(healthy);
    // stall until the deadline
    for (const r of slow) r.respond = (_q, res) => void res.on('error', () => undefined);
    const slowDeliveries: string[] = [];
    for (const id of slowIds) slowDeliveries.push(await testEvent(id));

    const drainStarted = Date.now();
    const first = drain();
    await Promise.all(slow.map((r) => r.waitFor(1, 5000)));
    // the slow attempts are on the wire now: a new event for the healthy endpoint, and the wake-up the outbox sends
    const published = Date.now();
    const deliveryId = await testEvent(healthyId);
    const woke = drain();
    await healthy.waitFor(1, 10_000);
    const latency = healthy.requests[0].at - published;
    await Promise.all([first, woke]);
    const d = await delivery(deliveryId);
    const stalledEnds = await Promise.all(slowDeliveries.map(async (id) => Date.parse((await delivery(id)).attempts[0].finished_at)));
    process.stderr.write(
      `receiver faults: healthy delivery published ${published - drainStarted} ms into a drain holding 3 stalled attempts reached its receiver after ${latency} ms ` +
        `(the stalled attempts timed out ${Math.min(...stalledEnds) - published} ms after it was published)\n`,
    );
    for (const id of [...slowIds, healthyId]) await t.http.delete(`/api/v1/webhooks/${id}`).set(org.auth).expect(200);
    expect(d.status).toBe('delivered');
    // it went out while the stalled attempts were still on the wire, not after the first of them timed out
    expect(healthy.requests[0].at).toBeLessThan(Math.min(...stalledEnds));
  });

  it('walks one timing-out delivery through the whole schedule: 1 min, 5 min, 30 min, 2 h, 12 h, then exhausted', async () => {
    const r = await Receiver.http();
    receivers.push(r);
    const id = await endpoint(r);
    r.respond = (_q, res) => {
      const tm = setTimeout(() => !res.destroyed && res.end('late'), TIMEOUT_MS + 500);
      timers.add(tm);
    };
    const deliveryId = await testEvent(id);
    await drain();
    const gaps: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      const d = await delivery(deliveryId);
      expect(d.attempts).toHaveLength(attempt);
      expect(d.attempts[attempt - 1]).toMatchObject({ attempt_number: attempt, error_class: 'timeout', response_status: null });
      const state = await endpointState(id);
      expect(state).toMatchObject({ consecutive_failures: attempt, is_active: true });
      if (attempt === 6) {
        expect(d).toMatchObject({ status: 'exhausted', next_retry_at: null });
        break;
      }
      expect(d.status).toBe('pending');
      const gap = Date.parse(d.next_retry_at) - Date.parse(d.attempts[attempt - 1].finished_at);
      gaps.push(gap);
      const base = RETRY_DELAYS_MS[attempt - 1];
      expect(gap).toBeGreaterThanOrEqual(base * 0.9 - 1000);
      expect(gap).toBeLessThanOrEqual(base * 1.1 + 1000);
      // not due a moment before its time...
      const wait = Date.parse(d.next_retry_at) - t.clock.nowMs();
      t.clock.advance(wait - 5000);
      await drain();
      expect((await delivery(deliveryId)).attempts).toHaveLength(attempt);
      // ...and attempted once it is
      t.clock.advance(5001);
      await drain();
    }
    expect(r.requests).toHaveLength(6);
    process.stderr.write(`receiver faults: schedule walked, gaps ${gaps.map((g) => `${(g / MIN).toFixed(2)} min`).join(', ')}, then exhausted\n`);
    // let the sleeping timers of this test fire harmlessly
    await sleep(10);
  });
});
