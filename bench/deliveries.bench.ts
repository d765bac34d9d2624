/**
 * Delivery throughput (SPEC §6.6): how close the DeliveryProcessor comes to the raw HTTP client it is built on.
 *
 *   npm run bench:deliveries                          defaults: BENCH_N=5000 events × BENCH_ENDPOINTS=16
 *   BENCH_N=1000 npm run bench:deliveries             a shorter run (the rate is what matters)
 *   DELIVERY_CONCURRENCY=… DELIVERY_PER_ENDPOINT_CONCURRENCY=… DELIVERY_BATCH_SIZE=…   passed to the app
 *   BENCH_SHARED_ORIGIN=1 npm run bench:deliveries    all endpoints on one host:port (different paths)
 *   TEST_DATABASE_URL=postgres://… npm run bench:deliveries   adds a PostgreSQL run after the SQLite one
 *
 * Receiver: a child process (see support.ts) with one keep-alive HTTP server per endpoint, answering 200 at once,
 * so the receiver has its own core and each endpoint its own origin (undici pools per origin).
 *
 * Baseline (same process, same run, before and after the measured part): undici `request` POSTs of a body the
 * size of the real envelope to the same origins, at the processor's global concurrency, through an undici Agent
 * with the processor's per-origin connection bound. Measured: N events published through the outbox to every
 * endpoint (one transaction per event), then `processDueDeliveries()` until the queue is drained; the work
 * counts only if the database says N × endpoints deliveries are `delivered` and the receiver saw them.
 */
import { Agent, request } from 'undici';
import { DeliveryConfig, Env } from '../src/config/app-config';
import { DatabaseService } from '../src/database/database.service';
import { DeliveryProcessor } from '../src/deliveries/delivery.processor';
import { EventsService } from '../src/deliveries/events.service';
import { LOCAL_DELIVERY_ENV } from '../test/support/receiver';
import { TestApp } from '../test/support/test-app';
import {
  BENCH_RATE_LIMIT_ENV,
  bootApp,
  Checks,
  Engine,
  envInt,
  fmtMs,
  fmtRate,
  header,
  perSecond,
  ReceiverChild,
  row,
  startReceiverChild,
  timed,
} from './support';

const N = envInt('BENCH_N', 5000);
const ENDPOINTS = envInt('BENCH_ENDPOINTS', 16);
const BASELINE_REQUESTS = envInt('BENCH_BASELINE_REQUESTS', 20_000);
const SHARED_ORIGIN = process.env.BENCH_SHARED_ORIGIN === '1';
const TARGET_BODY_BYTES = 500;
/** The processor's knobs pass through from the environment, for experiments (the app reads only the env it is given). */
const TUNING_ENV: Env = Object.fromEntries(
  ['DELIVERY_CONCURRENCY', 'DELIVERY_PER_ENDPOINT_CONCURRENCY', 'DELIVERY_BATCH_SIZE'].filter((k) => process.env[k]).map((k) => [k, process.env[k]]),
);

const checks = new Checks();

/** `upload.completed`-shaped data, padded so the stored envelope is about TARGET_BODY_BYTES. */
function eventData(i: number, pad: number): Record<string, unknown> {
  return {
    upload: {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      source: 'api',
      status: 'completed',
      original_filename: `leads-${i}${'x'.repeat(pad)}.csv`,
      total_rows: 1200,
      valid_row_count: 1180,
      invalid_row_count: 20,
      organization_id: '11111111-1111-4111-8111-111111111111',
      created_at: '2026-04-24T12:34:56.789Z',
    },
  };
}

function envelopeBytes(i: number, pad: number): number {
  const env = { id: 'evt_a1b2c3d4e5f67890abcdef12', type: 'upload.completed', api_version: '2026-04-23', created_at: '2026-04-24T12:34:56.789Z', data: eventData(i, pad) };
  return Buffer.byteLength(JSON.stringify(env));
}

const PAD = Math.max(0, TARGET_BODY_BYTES - envelopeBytes(0, 0));
const BASELINE_BODY = Buffer.from(
  JSON.stringify({ id: 'evt_a1b2c3d4e5f67890abcdef12', type: 'upload.completed', api_version: '2026-04-23', created_at: new Date().toISOString(), data: eventData(0, PAD) }),
);

/** The raw client: undici `request` at `concurrency`, at most `perOrigin` connections per origin, round-robin over the urls. */
async function undiciBaseline(urls: string[], total: number, concurrency: number, perOrigin: number): Promise<{ rate: number; ms: number; failed: number }> {
  const agent = new Agent({ connections: perOrigin, pipelining: 1 });
  let next = 0;
  let failed = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      try {
        const res = await request(urls[i % urls.length], {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: BASELINE_BODY,
          dispatcher: agent,
        });
        await res.body.dump();
        if (res.statusCode !== 200) failed++;
      } catch {
        failed++;
      }
    }
  };
  // warm the connections first, outside the timing
  const warm = Math.min(total, Math.max(2000, concurrency * 8));
  next = total - warm;
  await Promise.all(Array.from({ length: concurrency }, worker));
  next = 0;
  const { ms } = await timed(() => Promise.all(Array.from({ length: concurrency }, worker)));
  await agent.close();
  return { rate: perSecond(total, ms), ms, failed };
}

interface RunResult {
  engine: Engine;
  baselineBefore: number;
  baselineAfter: number;
  publishMs: number;
  deliverMs: number;
  delivered: number;
  expected: number;
  bodyBytes: number;
  /** Recorded attempt durations: the receiver answers at once, so this is time spent waiting inside the sender. */
  attemptAvgMs: number;
  attemptMaxMs: number;
  cfg: DeliveryConfig;
}

async function statusCounts(t: TestApp): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await t
    .get(DatabaseService)
    .dataSource.query('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function run(engine: Engine, receiver: ReceiverChild): Promise<RunResult | null> {
  const t = await bootApp(engine, { ...LOCAL_DELIVERY_ENV, DELIVERY_TIMEOUT_MS: '10000', ...BENCH_RATE_LIMIT_ENV, ...TUNING_ENV });
  try {
    const cfg = t.config.delivery;
    const org = await t.createOrganization();
    const urls: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      const origin = SHARED_ORIGIN ? receiver.origins[0] : receiver.origins[i];
      const url = `${origin}/hooks/${i}`;
      const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url, events: ['upload.completed'] });
      if (!checks.expect(res.status === 200, `registering endpoint ${url}: HTTP ${res.status} ${JSON.stringify(res.body)}`)) return null;
      urls.push(url);
    }

    const baselineBefore = await undiciBaseline(urls, BASELINE_REQUESTS, cfg.globalConcurrency, cfg.perEndpointConcurrency);
    checks.expect(baselineBefore.failed === 0, `baseline: ${baselineBefore.failed} requests failed`);

    const events = t.get(EventsService);
    const db = t.get(DatabaseService);
    const publish = await timed(async () => {
      for (let i = 0; i < N; i++) {
        await db.transaction((m) => events.publish(m, org.organizationId, 'upload.completed', eventData(i, PAD)));
      }
    });
    const expected = N * ENDPOINTS;
    const queued = await statusCounts(t);
    checks.expect(queued.pending === expected, `outbox: expected ${expected} pending deliveries, found ${JSON.stringify(queued)}`);
    const [{ len }] = await db.dataSource.query('SELECT LENGTH(payload) AS len FROM events LIMIT 1');

    const receivedBefore = await receiver.count();
    const deliver = await timed(() => t.get(DeliveryProcessor).processDueDeliveries());
    const received = (await receiver.count()) - receivedBefore;
    const after = await statusCounts(t);
    const delivered = after.delivered ?? 0;
    checks.expect(delivered === expected, `processor: expected ${expected} delivered, database says ${JSON.stringify(after)}`);
    checks.expect(received >= expected, `receiver answered ${received} requests, expected at least ${expected}`);
    const [a] = await db.dataSource.query('SELECT COUNT(*) AS n, AVG(duration_ms) AS avg_ms, MAX(duration_ms) AS max_ms FROM delivery_attempts');
    checks.expect(Number(a.n) === expected, `expected ${expected} recorded attempts, found ${a.n}`);

    const baselineAfter = await undiciBaseline(urls, BASELINE_REQUESTS, cfg.globalConcurrency, cfg.perEndpointConcurrency);
    checks.expect(baselineAfter.failed === 0, `baseline: ${baselineAfter.failed} requests failed`);
    return {
      engine,
      baselineBefore: baselineBefore.rate,
      baselineAfter: baselineAfter.rate,
      publishMs: publish.ms,
      deliverMs: deliver.ms,
      delivered,
      expected,
      bodyBytes: Number(len),
      attemptAvgMs: Number(a.avg_ms),
      attemptMaxMs: Number(a.max_ms),
      cfg,
    };
  } finally {
    await t.close();
  }
}

function print(r: RunResult): void {
  const cfg = r.cfg;
  const baseline = (r.baselineBefore + r.baselineAfter) / 2;
  const deliveries = perSecond(r.delivered, r.deliverMs);
  console.log(`\n  [${r.engine}] ${N} events × ${ENDPOINTS} endpoints = ${r.expected} deliveries, body ${r.bodyBytes} B, ` +
    `concurrency ${cfg.globalConcurrency} global / ${cfg.perEndpointConcurrency} per endpoint, batch ${cfg.batchSize}` +
    (SHARED_ORIGIN ? ', ALL ENDPOINTS ON ONE ORIGIN' : ', one origin per endpoint'));
  console.log(row('', 'rate', 'time'));
  console.log(row('baseline: undici request (before)', `${fmtRate(r.baselineBefore)}/s`, ''));
  console.log(row('baseline: undici request (after)', `${fmtRate(r.baselineAfter)}/s`, ''));
  console.log(row('publish: events (1 transaction each)', `${fmtRate(perSecond(N, r.publishMs))}/s`, fmtMs(r.publishMs)));
  console.log(row('publish: outbox rows (event + deliveries)', `${fmtRate(perSecond(N + r.expected, r.publishMs))}/s`, ''));
  console.log(row('processDueDeliveries: deliveries', `${fmtRate(deliveries)}/s`, fmtMs(r.deliverMs)));
  console.log(row('ratio deliveries / baseline (mean of 2)', (deliveries / baseline).toFixed(3), ''));
  console.log(row('recorded attempt duration: mean / max', `${Math.round(r.attemptAvgMs)} ms`, `${Math.round(r.attemptMaxMs)} ms`));
}

async function main(): Promise<number> {
  header('deliveries benchmark (SPEC §6.6)');
  const receiver = await startReceiverChild(SHARED_ORIGIN ? 1 : ENDPOINTS);
  console.log(`  receiver: child process pid ${receiver.pid}, ${receiver.origins.length} keep-alive http server(s) on 127.0.0.1`);
  const engines: Engine[] = ['sqlite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];
  try {
    for (const engine of engines) {
      const r = await run(engine, receiver);
      if (r) print(r);
    }
  } finally {
    await receiver.close();
  }
  return checks.report();
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
