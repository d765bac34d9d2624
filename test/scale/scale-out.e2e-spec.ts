import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { AuthService } from '../../src/auth/auth.service';
import { SCOPES } from '../../src/common/scopes';
import { DatabaseService } from '../../src/database/database.service';
import { EventsService } from '../../src/deliveries/events.service';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { createTestApp, pgAdmin, TestApp, TestOrg } from '../support/test-app';

/**
 * Issue 7's proof: two service processes share one PostgreSQL; a third (this test, processors off) publishes.
 * 1. 5,000 events to 10 endpoints of 5 organizations: every delivery arrives once per attempt, both instances work.
 * 2. Again, with `kill -9` of one instance mid-way: everything still arrives after its leases expire; the only
 *    duplicates are attempts that were on the wire when it died.
 * 3. 70 writes with one key over both instances: exactly 10 rejected (rate limits counted in the database).
 */
const EVENTS = Number(process.env.SCALE_EVENTS ?? 5000);
// long enough that no attempt outlives its lease on a loaded 2-core machine (a re-sent attempt would count as a duplicate)
const LEASE_MS = 20_000;
const CONCURRENCY = 64;

const pgUrl = process.env.TEST_DATABASE_URL;
if (!pgUrl) throw new Error('the scale-out proof needs PostgreSQL: set TEST_DATABASE_URL (bash .ci/run does)');

describe('scale-out: two instances on one PostgreSQL', () => {
  let dbName: string;
  let databaseUrl: string;
  let publisher: TestApp;
  let receiver: Receiver;
  let instances: ServiceProcess[] = [];
  let dataDir: string;
  const orgs: TestOrg[] = [];
  const secretsKey = randomBytes(32).toString('hex');

  const seen = new Map<string, number>(); // `${deliveryId}#${attempt}` → times received

  const admin = <T>(fn: (c: Client) => Promise<T>, url = pgUrl!): Promise<T> => pgAdmin(url, fn);

  beforeAll(async () => {
    dbName = `od_scale_${randomBytes(5).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
    const u = new URL(pgUrl!);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
    dataDir = mkdtempSync(join(tmpdir(), 'od-scale-'));
    receiver = await Receiver.http();
    receiver.respond = (req, res) => {
      const key = `${req.headers['x-optimaldial-delivery-id']}#${req.headers['x-optimaldial-attempt']}`;
      if (req.headers['x-optimaldial-event'] !== 'webhook.ping') seen.set(key, (seen.get(key) ?? 0) + 1);
      res.writeHead(200);
      res.end();
    };
    const env = { ...LOCAL_DELIVERY_ENV, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: secretsKey, RATE_LIMIT_PER_ORGANIZATION: '10000' };
    publisher = await createTestApp({ env });
    for (let o = 0; o < 5; o++) {
      const org = await publisher.createOrganization();
      orgs.push(org);
      for (let e = 0; e < 2; e++) {
        await publisher.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${receiver.url}/org${o}/ep${e}` }).expect(200);
      }
    }
    const instanceEnv = {
      ...env,
      DELIVERY_PROCESSOR_ENABLED: 'true',
      UPLOAD_PROCESSOR_ENABLED: 'false',
      DELIVERY_TICK_MS: '250',
      DELIVERY_LEASE_MS: String(LEASE_MS),
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      DELIVERY_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
    };
    instances = await Promise.all([0, 1].map(async () => ServiceProcess.start(instanceEnv, await freePort())));
  });

  afterAll(async () => {
    for (const i of instances) if (i.exitCode === null) i.signal('SIGKILL');
    await publisher?.close();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  });

  async function publish(n: number): Promise<void> {
    const events = publisher.get(EventsService);
    const db = publisher.get(DatabaseService);
    for (let i = 0; i < n; i += 100) {
      await db.transaction(async (m) => {
        for (let j = i; j < Math.min(n, i + 100); j++) {
          const org = orgs[j % orgs.length];
          await events.publish(m, org.organizationId, 'upload.completed', { upload: { id: `bench-${j}` } });
        }
      });
    }
  }

  async function counts(): Promise<Record<string, number>> {
    const rows = await admin((c) => c.query('SELECT status, COUNT(*)::int AS n FROM deliveries GROUP BY status'), databaseUrl);
    return Object.fromEntries(rows.rows.map((r: { status: string; n: number }) => [r.status, r.n]));
  }

  async function waitUntilDelivered(total: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await counts();
      if ((c.delivered ?? 0) >= total) return;
      if (Date.now() > deadline) {
        const logs = instances.map((i, n) => `--- instance ${n} (exit ${i.exitCode}):\n${i.logs.slice(-15).join('\n')}`).join('\n');
        throw new Error(`not all delivered in time: ${JSON.stringify(c)}\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function deliveredBy(i: ServiceProcess): Promise<number> {
    const text = (await request(i.baseUrl).get('/metrics')).text;
    const m = /webhook_delivery_attempts_total\{outcome="delivered",error_class="none"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  }

  it(`delivers ${EVENTS} events × 2 endpoints exactly once per attempt, shared by both instances`, async () => {
    const started = Date.now();
    await publish(EVENTS);
    await waitUntilDelivered(EVENTS * 2, 240_000);
    const seconds = (Date.now() - started) / 1000;
    const dupes = [...seen.values()].filter((n) => n > 1).length;
    const shares = await Promise.all(instances.map(deliveredBy));
    process.stderr.write(`scale-out run 1: ${EVENTS * 2} deliveries in ${seconds.toFixed(1)} s; per instance ${shares.join(' / ')}; duplicates ${dupes}\n`);
    expect(seen.size).toBe(EVENTS * 2);
    expect(dupes).toBe(0);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(EVENTS * 2);
    for (const s of shares) expect(s).toBeGreaterThan(0);
  });

  it('survives kill -9 of one instance mid-run: nothing lost, duplicates only for attempts on the wire', async () => {
    seen.clear();
    const before = (await counts()).delivered ?? 0;
    await publish(EVENTS);
    const [victim, survivor] = instances;
    // kill once a share of the second batch has gone out
    const deadline = Date.now() + 60_000;
    while (seen.size < EVENTS * 0.3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const receivedAtKill = seen.size;
    victim.signal('SIGKILL');
    await victim.exit();
    await waitUntilDelivered(before + EVENTS * 2, 240_000);
    const dupes = [...seen.values()].filter((n) => n > 1).length;
    process.stderr.write(`scale-out run 2 (kill -9 after ${receivedAtKill} of ${EVENTS * 2} received): all ${EVENTS * 2} delivered; duplicates (attempts on the wire at the kill): ${dupes}\n`);
    expect(seen.size).toBe(EVENTS * 2);
    // the victim had at most CONCURRENCY attempts on the wire; only those can arrive twice
    expect(dupes).toBeLessThanOrEqual(CONCURRENCY);
    expect((await counts()).in_flight ?? 0).toBe(0);
    expect(await deliveredBy(survivor)).toBeGreaterThan(0);
  });

  it('rate limits hold across instances: 70 writes with one key → exactly 10 rejected', async () => {
    // A key of its own: the setup's writes with orgs[0]'s key would still count when the suite runs inside one window.
    const org = orgs[0];
    const { apiKey } = await publisher.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId, scopes: [...SCOPES] });
    const auth = { Authorization: `Bearer ${apiKey}` };
    const [{ id }] = (await publisher.http.get('/api/v1/webhooks').set(auth).expect(200)).body;
    const live = instances.filter((i) => i.exitCode === null);
    live.push(await ServiceProcess.start({ ...LOCAL_DELIVERY_ENV, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: secretsKey, DELIVERY_PROCESSOR_ENABLED: 'false', UPLOAD_PROCESSOR_ENABLED: 'false', LOG_LEVEL: 'warn' }, await freePort()));
    instances.push(live[live.length - 1]);
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) {
      const res = await request(live[i % live.length].baseUrl).patch(`/api/v1/webhooks/${id}`).set(auth).send({ description: `write ${i}` });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
  });
});
