/**
 * Delivery engine benchmark (SPEC §6.6, issue 12): how close the DeliveryProcessor comes to the raw HTTP client
 * it is built on, and whether it stays there under load, backlog and a dead receiver. Each figure is printed
 * next to its goal; nothing here is a test (no figure fails the run, only incomplete work does).
 *
 *   npm run bench:deliveries                          defaults: BENCH_N=5000 events × BENCH_ENDPOINTS=16
 *   BENCH_N=1000 npm run bench:deliveries             a shorter run (the rates are what matter)
 *   TEST_DATABASE_URL=postgres://… npm run bench:deliveries   adds a PostgreSQL run after the SQLite one
 *   BENCH_SKIP_SQLITE=1                               PostgreSQL only
 *   BENCH_SCENARIOS=drain,bulk,latency,backlog,isolation      pick scenarios (default: all)
 *   BENCH_BULK_BATCH=100                              events per publishMany transaction
 *   BENCH_LATENCY_RATE=200 BENCH_LATENCY_SECONDS=30   the open-loop latency run (4 endpoints)
 *   BENCH_BACKLOG=200000 BENCH_BACKLOG_DUE=16000      not-yet-due rows in the table, due ones drained
 *   BENCH_DEAD_QUEUE=3000                             deliveries queued to the endpoint that never answers
 *   DELIVERY_CONCURRENCY=… DELIVERY_PER_ENDPOINT_CONCURRENCY=… DELIVERY_BATCH_SIZE=…   passed to the app
 *   BENCH_SHARED_ORIGIN=1                             all endpoints on one host:port (different paths)
 *
 * Receiver: a child process (see support.ts) with one keep-alive HTTP server per endpoint, answering 200 at once,
 * so the receiver has its own core and each endpoint its own origin (undici pools per origin), plus one black-hole
 * server that never answers (isolation scenario).
 *
 * Scenarios (goals from issue 12), in this order in one app per engine (latency in an app of its own):
 *  1 drain      N events published through the outbox to every endpoint (one transaction per event), then
 *               processDueDeliveries() until drained, against a raw undici baseline measured before and after
 *               (same concurrency, same receivers, a body of the envelope's size). Counts only if the database
 *               says N × endpoints are delivered, with as many attempts recorded, and the receiver saw them.
 *  2 bulk       the same volume through EventsService.publishMany (BENCH_BULK_BATCH events per transaction).
 *  5 isolation  one of the endpoints never answers (10 s timeouts), BENCH_DEAD_QUEUE deliveries queued to it
 *               first: the rate at which the other endpoints' N × 15 deliveries arrive, against the mean of two
 *               all-healthy drains of N bulk-published events, one right before and one right after.
 *  4 backlog    BENCH_BACKLOG not-yet-due deliveries (retries scheduled an hour later) in the table, then the drain
 *               rate of BENCH_BACKLOG_DUE due ones, against the mean of two drains of as many due ones without the
 *               backlog, one right before it is seeded and one right after it is deleted; and the peak RSS during
 *               the drain with the backlog (the service's footprint with it; the process's peak, bulk seeding
 *               included, is printed too).
 *  3 latency    events at a steady rate (a timer per event, open loop) to 4 endpoints, processor enabled (its
 *               wake-up and tick): event created_at → receiver has it.
 *
 * Every ratio divides by a reference measured in the same minute, before and after: this machine's speed moves by
 * a third within minutes (the undici baseline's before and after differ that much), and a reference taken from
 * another scenario minutes earlier, at another size, moved the backlog and isolation ratios by as much as the
 * engine did.
 */
import { Agent, request } from 'undici';
import { Env } from '../src/config/app-config';
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
  profiled,
  peakRssMb,
  phasePeakRssMb,
  quantile,
  ReceiverChild,
  row,
  startReceiverChild,
  timed,
  vsGoal,
  runBench,
} from './support';

const N = envInt('BENCH_N', 5000);
const ENDPOINTS = envInt('BENCH_ENDPOINTS', 16);
const BASELINE_REQUESTS = envInt('BENCH_BASELINE_REQUESTS', 20_000);
const SHARED_ORIGIN = process.env.BENCH_SHARED_ORIGIN === '1';
const TARGET_BODY_BYTES = 500;
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'drain,bulk,latency,backlog,isolation').split(',').map((x) => x.trim()));
const BULK_BATCH = envInt('BENCH_BULK_BATCH', 100);
const LATENCY_RATE = envInt('BENCH_LATENCY_RATE', 200);
const LATENCY_SECONDS = envInt('BENCH_LATENCY_SECONDS', 30);
const LATENCY_ENDPOINTS = 4;
const BACKLOG = envInt('BENCH_BACKLOG', 200_000);
const BACKLOG_DUE = envInt('BENCH_BACKLOG_DUE', 16_000);
const DEAD_QUEUE = envInt('BENCH_DEAD_QUEUE', 3000);
const GOALS = {
  sqlite: { drainRatio: 0.5, publish: 1000, publishMany: 5000, p95: 25 },
  postgres: { drainRatio: 0.3, publish: 400, publishMany: 0, p95: 50 },
} as const;
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

/**
 * PostgreSQL with `autovacuum = off` (this project's CI machine sets it): nothing removes the two dead row versions
 * every delivery leaves, and each later phase's claims walk the earlier phases' dead index entries (a drain after
 * an 80,000-delivery one ran at 1,582/s instead of 2,629/s with autovacuum on). Such a server gets the VACUUM that
 * autovacuum would have run between phases, before each measured drain, and the run says so.
 */
let vacuumNoted = false;
async function vacuumWithoutAutovacuum(t: TestApp): Promise<void> {
  const db = t.get(DatabaseService);
  if (!db.isPostgres) return;
  const [{ autovacuum }] = await db.dataSource.query('SHOW autovacuum');
  if (autovacuum === 'on') return;
  if (!vacuumNoted) console.log('  (PostgreSQL autovacuum is off on this server: VACUUM ANALYZE deliveries before each measured drain)');
  vacuumNoted = true;
  await db.dataSource.query('VACUUM ANALYZE deliveries');
}

async function statusCounts(t: TestApp): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await t
    .get(DatabaseService)
    .dataSource.query('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function registerEndpoints(t: TestApp, org: { auth: Record<string, string> }, origins: string[], events = ['upload.completed']): Promise<string[] | null> {
  const ids: string[] = [];
  for (let i = 0; i < origins.length; i++) {
    const url = `${origins[i]}/hooks/${i}`;
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url, events });
    if (!checks.expect(res.status === 200, `registering endpoint ${url}: HTTP ${res.status} ${JSON.stringify(res.body)}`)) return null;
    ids.push(res.body.webhook.id);
  }
  return ids;
}

/** Publishes `n` events through publishMany, `BULK_BATCH` per transaction. */
async function publishBulk(t: TestApp, organizationId: string, n: number, type = 'upload.completed'): Promise<void> {
  const events = t.get(EventsService);
  const db = t.get(DatabaseService);
  for (let i = 0; i < n; i += BULK_BATCH) {
    const batch = Array.from({ length: Math.min(BULK_BATCH, n - i) }, (_, j) => ({ type, data: eventData(i + j, PAD) }));
    await db.transaction((m) => events.publishMany(m, organizationId, batch));
  }
}

/** Drains and checks that every one of `expected` new deliveries was delivered with its attempt recorded. */
async function timedDrain(t: TestApp, receiver: ReceiverChild, expected: number, label: string): Promise<number> {
  const db = t.get(DatabaseService);
  const deliveredBefore = (await statusCounts(t)).delivered ?? 0;
  const [{ n: attemptsBefore }] = await db.dataSource.query('SELECT COUNT(*) AS n FROM delivery_attempts');
  const receivedBefore = await receiver.count();
  await vacuumWithoutAutovacuum(t);
  const { ms } = await timed(() => profiled(label, () => t.get(DeliveryProcessor).processDueDeliveries()));
  const received = (await receiver.count()) - receivedBefore;
  const after = await statusCounts(t);
  const delivered = (after.delivered ?? 0) - deliveredBefore;
  const [{ n: attemptsAfter }] = await db.dataSource.query('SELECT COUNT(*) AS n FROM delivery_attempts');
  checks.expect(delivered === expected, `${label}: expected ${expected} delivered, database says ${JSON.stringify(after)}`);
  checks.expect(received >= expected, `${label}: receiver answered ${received} requests, expected at least ${expected}`);
  checks.expect(Number(attemptsAfter) - Number(attemptsBefore) === expected, `${label}: expected ${expected} recorded attempts, found ${Number(attemptsAfter) - Number(attemptsBefore)}`);
  return perSecond(expected, ms);
}

interface Figures {
  lines: string[];
}

/** The rate of a drain of `events` bulk-published events to the organization's endpoints, all healthy. */
async function referenceDrain(t: TestApp, receiver: ReceiverChild, organizationId: string, endpoints: number, events: number, label: string): Promise<number> {
  await publishBulk(t, organizationId, events);
  return timedDrain(t, receiver, events * endpoints, label);
}

async function scenarioDrain(t: TestApp, receiver: ReceiverChild, organizationId: string, urls: string[], f: Figures): Promise<void> {
  const cfg = t.config.delivery;
  const goals = GOALS[engineOf(t)];
  const before = await undiciBaseline(urls, BASELINE_REQUESTS, cfg.globalConcurrency, cfg.perEndpointConcurrency);
  checks.expect(before.failed === 0, `baseline: ${before.failed} requests failed`);
  const events = t.get(EventsService);
  const db = t.get(DatabaseService);
  const publish = await timed(() =>
    profiled('publish', async () => {
      for (let i = 0; i < N; i++) await db.transaction((m) => events.publish(m, organizationId, 'upload.completed', eventData(i, PAD)));
    }),
  );
  const expected = N * urls.length;
  const queued = await statusCounts(t);
  checks.expect(queued.pending === expected, `outbox: expected ${expected} pending deliveries, found ${JSON.stringify(queued)}`);
  const [{ len }] = await db.dataSource.query('SELECT LENGTH(payload) AS len FROM events LIMIT 1');
  const rate = await timedDrain(t, receiver, expected, 'drain');
  const [a] = await db.dataSource.query('SELECT AVG(duration_ms) AS avg_ms, MAX(duration_ms) AS max_ms FROM delivery_attempts');
  const after = await undiciBaseline(urls, BASELINE_REQUESTS, cfg.globalConcurrency, cfg.perEndpointConcurrency);
  checks.expect(after.failed === 0, `baseline: ${after.failed} requests failed`);
  const baseline = (before.rate + after.rate) / 2;
  f.lines.push(
    `  ${N} events × ${urls.length} endpoints = ${expected} deliveries, body ${len} B, concurrency ${cfg.globalConcurrency} global / ${cfg.perEndpointConcurrency} per endpoint, batch ${cfg.batchSize}` +
      (SHARED_ORIGIN ? ', ALL ENDPOINTS ON ONE ORIGIN' : ', one origin per endpoint'),
    row('baseline: undici request (before / after)', `${fmtRate(before.rate)}/s`, `${fmtRate(after.rate)}/s`),
    row('1 drain: processDueDeliveries', `${fmtRate(rate)}/s`, ''),
    row('1 drain: ratio to baseline (mean of 2)', vsGoal(rate / baseline, goals.drainRatio, '>=')),
    row('  recorded attempt duration: mean / max', `${Math.round(Number(a.avg_ms))} ms`, `${Math.round(Number(a.max_ms))} ms`),
    row('2 publish: events/s (1 transaction each)', vsGoal(perSecond(N, publish.ms), goals.publish, '>=', 0)),
  );
}

async function scenarioBulk(t: TestApp, receiver: ReceiverChild, organizationId: string, endpoints: number, f: Figures): Promise<void> {
  const goal = GOALS[engineOf(t)].publishMany;
  const { ms } = await timed(() => profiled('publishMany', () => publishBulk(t, organizationId, N)));
  const rate = perSecond(N, ms);
  f.lines.push(row(`2 publishMany: events/s (${BULK_BATCH} per transaction)`, goal ? vsGoal(rate, goal, '>=', 0) : `${fmtRate(rate)} (no goal)`));
  const drained = await timedDrain(t, receiver, N * endpoints, 'bulk drain');
  f.lines.push(row('  drain of the bulk-published deliveries', `${fmtRate(drained)}/s`, ''));
}

async function scenarioBacklog(t: TestApp, receiver: ReceiverChild, organizationId: string, endpoints: number, f: Figures): Promise<void> {
  const db = t.get(DatabaseService);
  const dueEvents = Math.ceil(BACKLOG_DUE / endpoints);
  const without = await referenceDrain(t, receiver, organizationId, endpoints, dueEvents, 'due drain before the backlog');
  const seeding = await timed(async () => {
    await publishBulk(t, organizationId, Math.ceil(BACKLOG / endpoints));
    // retries scheduled an hour from now: in the table, in the due index, never due during the run
    await db.transaction((m) => m.query(`UPDATE deliveries SET next_retry_at = next_retry_at + 3600000, attempt_count = 1 WHERE status = 'pending'`));
  });
  await publishBulk(t, organizationId, dueEvents);
  const counts = await statusCounts(t);
  const { value: rate, peakMb } = await phasePeakRssMb(() => timedDrain(t, receiver, dueEvents * endpoints, 'backlog drain'));
  // the backlog is the only thing pending now; without it, the same drain again
  await db.transaction((m) => m.query(`DELETE FROM deliveries WHERE status = 'pending'`));
  const withoutAfter = await referenceDrain(t, receiver, organizationId, endpoints, dueEvents, 'due drain after the backlog');
  const ratio = rate / ((without + withoutAfter) / 2);
  f.lines.push(
    row(`4 backlog: ${fmtRate(counts.pending - dueEvents * endpoints)} not due, seeded in`, fmtMs(seeding.ms), ''),
    row(`4 backlog: ${fmtRate(dueEvents * endpoints)} due, no backlog (before / after)`, `${fmtRate(without)}/s`, `${fmtRate(withoutAfter)}/s`),
    row(`4 backlog: ${fmtRate(dueEvents * endpoints)} due, with the backlog`, `${fmtRate(rate)}/s`, ''),
    row('4 backlog: ratio to no backlog (mean of 2)', vsGoal(ratio, 0.8, '>=')),
    row('4 backlog: peak RSS during that drain (MB)', vsGoal(peakMb, 300, '<=', 0)),
    row('  peak RSS of the process so far, seeding included (MB)', `${Math.round(peakRssMb())}`, ''),
  );
}

async function scenarioIsolation(t: TestApp, receiver: ReceiverChild, organizationId: string, endpoints: number, f: Figures): Promise<void> {
  const allHealthy = await referenceDrain(t, receiver, organizationId, endpoints, N, 'all-healthy drain before isolation');
  const org = await t.createOrganization();
  const healthy = await registerEndpoints(t, org, receiver.origins.slice(0, ENDPOINTS - 1));
  // the black hole must pass the registration ping: it is registered while it still answers, then goes silent
  const dead = await registerDeadEndpoint(t, org, receiver);
  if (!healthy || !dead) return;
  await publishBulk(t, org.organizationId, DEAD_QUEUE, 'upload.failed');
  await publishBulk(t, org.organizationId, N);
  const expected = N * healthy.length;
  await vacuumWithoutAutovacuum(t);
  const start = performance.now();
  const receivedBefore = await receiver.count();
  const draining = t.get(DeliveryProcessor).processDueDeliveries();
  let received = 0;
  const deadline = performance.now() + 600_000;
  while ((received = (await receiver.count()) - receivedBefore) < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const rate = perSecond(expected, performance.now() - start);
  // stop sending to the black hole so the drain can end (its attempts on the wire run into their deadline)
  await t.http.patch(`/api/v1/webhooks/${dead}`).set(org.auth).send({ is_active: false }).expect(200);
  await draining;
  checks.expect(received === expected, `isolation: receiver got ${received}, expected ${expected}`);
  // its queue is exhausted with it (SPEC §5.7): the drains after this one have nothing else pending in the table
  await t.http.delete(`/api/v1/webhooks/${dead}`).set(org.auth).expect(200);
  const allHealthyAfter = await referenceDrain(t, receiver, organizationId, endpoints, N, 'all-healthy drain after isolation');
  const ratio = rate / ((allHealthy + allHealthyAfter) / 2);
  f.lines.push(
    row(`5 isolation: all ${endpoints} healthy (before / after)`, `${fmtRate(allHealthy)}/s`, `${fmtRate(allHealthyAfter)}/s`),
    row(`5 isolation: ${healthy.length} healthy, 1 silent (${DEAD_QUEUE} queued first)`, `${fmtRate(rate)}/s`, ''),
    row('5 isolation: ratio to all healthy (mean of 2)', vsGoal(ratio, 0.8, '>=')),
  );
}

async function registerDeadEndpoint(t: TestApp, org: { auth: Record<string, string> }, receiver: ReceiverChild): Promise<string | null> {
  // Registration pings the URL and needs a 2xx, which a black hole never gives: register on a healthy origin,
  // then point the row at the black hole directly (the engine reads the endpoint's URL at every dispatch).
  const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${receiver.origins[ENDPOINTS - 1]}/dead`, events: ['upload.failed'] });
  if (!checks.expect(res.status === 200, `registering the dead endpoint: HTTP ${res.status}`)) return null;
  const id = res.body.webhook.id as string;
  const db = t.get(DatabaseService);
  const { text, values } = db.compile(db.sql`UPDATE webhook_endpoints SET url = ${`${receiver.blackHoles[0]}/dead`} WHERE id = ${id}`);
  await db.transaction((m) => m.query(text, values));
  return id;
}

async function scenarioLatency(engine: Engine, receiver: ReceiverChild, f: Figures): Promise<void> {
  const t = await bootApp(engine, { ...LOCAL_DELIVERY_ENV, DELIVERY_TIMEOUT_MS: '10000', DELIVERY_PROCESSOR_ENABLED: 'true', ...BENCH_RATE_LIMIT_ENV, ...TUNING_ENV });
  try {
    const org = await t.createOrganization();
    if (!(await registerEndpoints(t, org, receiver.origins.slice(0, LATENCY_ENDPOINTS)))) return;
    const events = t.get(EventsService);
    const db = t.get(DatabaseService);
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const expected = total * LATENCY_ENDPOINTS;
    const receivedBefore = await receiver.count();
    await receiver.track(true);
    const start = performance.now();
    const publishes: Array<Promise<unknown>> = [];
    await new Promise<void>((done) => {
      let fired = 0;
      for (let i = 0; i < total; i++) {
        setTimeout(() => {
          publishes.push(db.transaction((m) => events.publish(m, org.organizationId, 'upload.completed', eventData(i, PAD))));
          if (++fired === total) done();
        }, (i * 1000) / LATENCY_RATE);
      }
    });
    await Promise.all(publishes);
    const lateBy = performance.now() - start - LATENCY_SECONDS * 1000;
    const deadline = performance.now() + 60_000;
    while ((await receiver.count()) - receivedBefore < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const latencies = await receiver.latencies();
    await receiver.track(false);
    checks.expect(latencies.length >= expected, `latency: receiver saw ${latencies.length} deliveries, expected ${expected}`);
    const p95 = quantile(latencies, 0.95);
    f.lines.push(
      row(`3 latency: ${LATENCY_RATE} events/s × ${LATENCY_SECONDS} s to ${LATENCY_ENDPOINTS} endpoints`, `publishing ended ${Math.round(lateBy)} ms late`),
      row('3 latency: created → received p50 / p99 / max (ms)', `${quantile(latencies, 0.5)} / ${quantile(latencies, 0.99)} / ${Math.max(...latencies)}`),
      row('3 latency: p95 (ms)', vsGoal(p95, GOALS[engine].p95, '<=', 0)),
    );
  } finally {
    await t.close();
  }
}

function engineOf(t: TestApp): Engine {
  return t.get(DatabaseService).isPostgres ? 'postgres' : 'sqlite';
}

async function run(engine: Engine, receiver: ReceiverChild): Promise<Figures> {
  const f: Figures = { lines: [] };
  const t = await bootApp(engine, { ...LOCAL_DELIVERY_ENV, DELIVERY_TIMEOUT_MS: '10000', SHUTDOWN_GRACE_MS: '0', ...BENCH_RATE_LIMIT_ENV, ...TUNING_ENV });
  try {
    const org = await t.createOrganization();
    const origins = Array.from({ length: ENDPOINTS }, (_, i) => (SHARED_ORIGIN ? receiver.origins[0] : receiver.origins[i]));
    if (!(await registerEndpoints(t, org, origins))) return f;
    const urls = origins.map((o, i) => `${o}/hooks/${i}`);
    if (SCENARIOS.has('drain')) await scenarioDrain(t, receiver, org.organizationId, urls, f);
    if (SCENARIOS.has('bulk')) await scenarioBulk(t, receiver, org.organizationId, ENDPOINTS, f);
    if (SCENARIOS.has('isolation')) await scenarioIsolation(t, receiver, org.organizationId, ENDPOINTS, f);
    if (SCENARIOS.has('backlog')) await scenarioBacklog(t, receiver, org.organizationId, ENDPOINTS, f);
  } finally {
    await t.close();
  }
  if (SCENARIOS.has('latency')) await scenarioLatency(engine, receiver, f);
  return f;
}

async function main(): Promise<number> {
  header('deliveries benchmark (SPEC §6.6, issue 12)');
  const receiver = await startReceiverChild(SHARED_ORIGIN ? 1 : ENDPOINTS, 1);
  console.log(`  receiver: child process pid ${receiver.pid}, ${receiver.origins.length} keep-alive http server(s) + 1 black hole on 127.0.0.1`);
  const engines: Engine[] = [...(process.env.BENCH_SKIP_SQLITE === '1' ? [] : (['sqlite'] as const)), ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];
  try {
    for (const engine of engines) {
      const f = await run(engine, receiver);
      console.log(`\n  [${engine}]`);
      for (const line of f.lines) console.log(line);
    }
  } finally {
    await receiver.close();
  }
  return checks.report();
}

runBench(main);
