/**
 * `POST /api/v1/webhooks/{id}/test` in a closed loop (issue 17): C clients each send the next request as soon as
 * the previous one answers. Every call opens a transaction (event + one delivery) and reads the delivery back.
 * Baseline in the same run: `GET /api/v1/me` through the same HTTP stack, guard and key lookup, same clients.
 * Not a test: prints figures, exits non-zero only when calls failed.
 *
 *   npm run bench:test-events                         # SQLite
 *   TEST_DATABASE_URL=postgres://… npm run bench:test-events   # SQLite, then PostgreSQL
 * Knobs: BENCH_CALLS (per measurement, default 2000), BENCH_CLIENTS (default 8; 40 reproduces issue 17's burst).
 */
import request from 'supertest';
import { Agent } from 'node:http';
import { LOCAL_DELIVERY_ENV } from '../test/support/receiver';
import { BENCH_RATE_LIMIT_ENV, bootApp, Checks, Engine, envInt, fmtMs, fmtRate, header, perSecond, row, startReceiverChild, timed, runBench } from './support';

const CALLS = envInt('BENCH_CALLS', 2000);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const checks = new Checks();

async function closedLoop(calls: number, clients: number, one: () => Promise<number>): Promise<{ ms: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const { ms } = await timed(() =>
    Promise.all(
      Array.from({ length: clients }, async () => {
        while (next++ < calls) if ((await one()) !== 200) failed++;
      }),
    ),
  );
  return { ms, failed };
}

async function run(engine: Engine, origin: string): Promise<void> {
  const t = await bootApp(engine, { ...LOCAL_DELIVERY_ENV, ...BENCH_RATE_LIMIT_ENV });
  try {
    const org = await t.createOrganization();
    const created = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${origin}/hook`, events: ['upload.completed'] });
    if (!checks.expect(created.status === 200, `registering the endpoint: HTTP ${created.status}`)) return;
    const id = created.body.webhook.id as string;
    const port = (t.app.getHttpServer().address() as { port: number }).port;
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const http = request(`http://127.0.0.1:${port}`);
    const me = () => http.get('/api/v1/me').agent(agent).set(org.auth).then((r) => r.status);
    const test = () => http.post(`/api/v1/webhooks/${id}/test`).agent(agent).set(org.auth).send({ event_type: 'upload.completed' }).then((r) => r.status);

    await closedLoop(100, CLIENTS, me); // warm-up
    const baseline = await closedLoop(CALLS, CLIENTS, me);
    const route = await closedLoop(CALLS, CLIENTS, test);
    checks.expect(baseline.failed === 0, `[${engine}] baseline: ${baseline.failed} calls failed`);
    checks.expect(route.failed === 0, `[${engine}] test route: ${route.failed} calls failed`);
    agent.destroy();

    const b = perSecond(CALLS, baseline.ms);
    const r = perSecond(CALLS, route.ms);
    console.log(`\n  [${engine}] ${CALLS} calls each, ${CLIENTS} concurrent clients (closed loop), pool ${t.config.dbPoolSize}`);
    console.log(row('', 'rate', 'time'));
    console.log(row('baseline: GET /api/v1/me', `${fmtRate(b)}/s`, fmtMs(baseline.ms)));
    console.log(row('POST /webhooks/{id}/test (event + delivery)', `${fmtRate(r)}/s`, fmtMs(route.ms)));
    console.log(row('ratio test route / baseline', (r / b).toFixed(3), ''));
  } finally {
    await t.close();
  }
}

async function main(): Promise<number> {
  header('test-event route benchmark (issue 17)');
  const receiver = await startReceiverChild(1);
  const engines: Engine[] = ['sqlite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];
  try {
    for (const engine of engines) await run(engine, receiver.origins[0]);
  } finally {
    await receiver.close();
  }
  return checks.report();
}

runBench(main);
