/**
 * The endpoint stats route (SPEC §5.8) on a year of history: how long `GET /api/v1/webhooks/{id}/stats` takes
 * with the index of migration 1732300016000, and without it.
 *
 *   npx ts-node --transpile-only bench/webhook-stats.bench.ts                      SQLite
 *   TEST_DATABASE_URL=postgres://… npx ts-node --transpile-only bench/webhook-stats.bench.ts   adds PostgreSQL
 *   BENCH_PER_HOUR=30 BENCH_ENDPOINTS=4                                            history shape (defaults)
 *   BENCH_SKIP_SQLITE=1                                                            PostgreSQL only
 *
 * History: BENCH_ENDPOINTS endpoints (one registered through the API, the others' rows inserted alongside), each
 * with BENCH_PER_HOUR deliveries an hour for 365 days; every delivery has one attempt, every tenth a failed first
 * attempt and a second one a minute later. Generated in SQL (recursive CTE / generate_series).
 */
import { DatabaseService } from '../src/database/database.service';
import { DeliveriesRepository } from '../src/deliveries/deliveries.repository';
import { LOCAL_DELIVERY_ENV, Receiver } from '../test/support/receiver';
import { TestApp } from '../test/support/test-app';
import { bootApp, Engine, envInt, fmtMs, header, row } from './support';

const PER_HOUR = envInt('BENCH_PER_HOUR', 30);
const ENDPOINTS = envInt('BENCH_ENDPOINTS', 4);
const RUNS = envInt('BENCH_RUNS', 15);
const CHUNK = 100_000;
const HOUR = 3_600_000;
const YEAR_HOURS = 365 * 24;

async function seed(t: TestApp, orgId: string, endpointId: string): Promise<number> {
  const db = t.get(DatabaseService);
  const pg = db.isPostgres;
  const n = PER_HOUR * YEAR_HOURS * ENDPOINTS;
  const step = HOUR / (PER_HOUR * ENDPOINTS);
  const start = t.clock.nowMs() - YEAR_HOURS * HOUR;
  const pad = (prefix: string, width: number) => (pg ? `'${prefix}' || lpad(n::text, ${width}, '0')` : `'${prefix}' || printf('%0${width}d', n)`);
  // chunks of CHUNK rows: each statement stays well inside the service's statement timeout
  const series = (lo: number, hi: number) =>
    pg ? `generate_series(${lo}::bigint, ${hi}) AS g(n)` : `(WITH RECURSIVE s(n) AS (SELECT ${lo} UNION ALL SELECT n + 1 FROM s WHERE n < ${hi}) SELECT n FROM s) AS g`;
  let from = '';
  const created = `(${start} + n * ${Math.floor(step)})`;
  const mod = (a: string, b: number) => (pg ? `(${a} % ${b})` : `(${a} % ${b})`);
  const endpoint = `CASE WHEN ${mod('n', ENDPOINTS)} = 0 THEN '${endpointId}' ELSE ${pg ? `'other-endpoint-' || ${mod('n', ENDPOINTS)}::text` : `'other-endpoint-' || ${mod('n', ENDPOINTS)}`} END`;
  const retried = `${mod('n', 10)} = 0`;
  const attempt = (idPrefix: string, offset: number, failed: boolean, number: number, where: string) =>
    `INSERT INTO delivery_attempts (id, delivery_id, attempt_number, started_at, finished_at, duration_ms, response_status, error_class, error_message, response_body) ` +
    `SELECT ${pad(idPrefix, 12)}, ${pad('00000000-0000-4000-8000-', 12)}, ${number}, ${created} + ${offset}, ${created} + ${offset} + 20 + ${mod('n', 200)}, ` +
    `20 + ${mod('n', 200)}, ${failed ? 500 : 200}, ${failed ? "'http_status'" : 'NULL'}, ${failed ? "'HTTP 500'" : 'NULL'}, 'ok' FROM ${from} WHERE ${where}`;
  for (let lo = 0; lo < n; lo += CHUNK) {
    from = series(lo, Math.min(lo + CHUNK, n) - 1);
    await db.dataSource.query(
      `INSERT INTO events (id, organization_id, type, api_version, payload, upload_id, created_at) ` +
        `SELECT ${pad('evt_', 24)}, '${orgId}', 'upload.completed', '2026-04-23', '{}', NULL, ${created} FROM ${from}`,
    );
    await db.dataSource.query(
      `INSERT INTO deliveries (id, organization_id, event_id, event_type, webhook_endpoint_id, target_url, upload_id, status, attempt_count, ` +
        `last_attempt_at, last_response_status, delivered_at, created_at, updated_at) ` +
        `SELECT ${pad('00000000-0000-4000-8000-', 12)}, '${orgId}', ${pad('evt_', 24)}, 'upload.completed', ${endpoint}, 'https://example.com/h', NULL, 'delivered', ` +
        `CASE WHEN ${retried} THEN 2 ELSE 1 END, ${created} + CASE WHEN ${retried} THEN 60100 ELSE 100 END, 200, ${created} + 60200, ${created}, ${created} FROM ${from}`,
    );
    await db.dataSource.query(attempt('10000000-0000-4000-8000-', 100, false, 1, `NOT (${retried})`));
    await db.dataSource.query(attempt('20000000-0000-4000-8000-', 100, true, 1, retried));
    await db.dataSource.query(attempt('30000000-0000-4000-8000-', 60100, false, 2, retried));
  }
  if (pg) await db.dataSource.query('ANALYZE');
  return n;
}

/** BENCH_EXPLAIN=1: the plans of the stats queries, as the service sends them (captured from DataSource.query). */
async function explain(t: TestApp, endpointId: string): Promise<void> {
  const db = t.get(DatabaseService);
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  const query = db.dataSource.query.bind(db.dataSource);
  const svc = t.get(DeliveriesRepository);
  db.dataSource.query = ((sql: string, params?: unknown[]) => (seen.push({ sql, params: params ?? [] }), query(sql, params))) as typeof db.dataSource.query;
  await svc.attemptStatsForEndpoint(endpointId, t.clock.nowMs() - 24 * HOUR);
  db.dataSource.query = query;
  for (const q of seen) {
    const plan = await query(`${db.isPostgres ? 'EXPLAIN (ANALYZE, BUFFERS)' : 'EXPLAIN QUERY PLAN'} ${q.sql}`, q.params);
    console.log(`\n  ${q.sql}\n${plan.map((r: Record<string, unknown>) => `    ${r['QUERY PLAN'] ?? r.detail}`).join('\n')}`);
  }
}

async function median(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function run(engine: Engine): Promise<void> {
  const t = await bootApp(engine, LOCAL_DELIVERY_ENV);
  const r = await Receiver.http();
  try {
    const org = await t.createOrganization();
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${r.url}/h` });
    if (res.status !== 200) throw new Error(`endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    const id = res.body.webhook.id as string;
    const s = performance.now();
    const n = await seed(t, org.organizationId, id);
    header(`${engine}: ${n.toLocaleString()} deliveries over 365 days on ${ENDPOINTS} endpoints (seeded in ${fmtMs(performance.now() - s)})`);
    const get = (hours: number) => async () => {
      const x = await t.http.get(`/api/v1/webhooks/${id}/stats?hours=${hours}`).set(org.auth);
      if (x.status !== 200) throw new Error(`stats: ${x.status}`);
      return x.body;
    };
    const day = await get(24)();
    const month = await get(720)();
    console.log(row('check', `24 h: ${day.attempts} attempts, 720 h: ${month.attempts} attempts, p50 ${month.p50_ms} ms, p95 ${month.p95_ms} ms`));
    if (process.env.BENCH_EXPLAIN === '1') await explain(t, id);
    const plain = async () => {
      const x = await t.http.get(`/api/v1/webhooks/${id}`).set(org.auth);
      if (x.status !== 200) throw new Error(`webhook: ${x.status}`);
    };
    console.log(row('baseline: GET /api/v1/webhooks/{id}', fmtMs(await median(plain, RUNS))));
    console.log(row('with the index', `24 h: ${fmtMs(await median(get(24), RUNS))}`, `720 h: ${fmtMs(await median(get(720), RUNS))}`));
    const db = t.get(DatabaseService);
    await db.dataSource.query('DROP INDEX idx_deliveries_endpoint_status_attempted');
    if (engine === 'postgres') await db.dataSource.query('ANALYZE');
    const slow = (hours: number) => median(get(hours), 3).then(fmtMs, (e) => `failed (${e.message})`);
    console.log(row('without it', `24 h: ${await slow(24)}`, `720 h: ${await slow(720)}`));
  } finally {
    await r.close();
    await t.close();
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_SKIP_SQLITE !== '1') await run('sqlite');
  if (process.env.TEST_DATABASE_URL) await run('postgres');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
