/**
 * Crash and soak (issue 9): the real service as an OS process with both processors running, `kill -9`-ed every
 * few seconds and restarted, while clients keep creating uploads (JSON, 100–300 valid numbers, some with a
 * per-request webhook), cancelling some, and sending test events to two registered endpoints on a local receiver.
 *
 * Bounded for CI: ROBUSTNESS_SOAK_MS (default 60 s) of kills, short leases (DELIVERY_LEASE_MS 2000,
 * UPLOAD_LEASE_MS 3000) and 200 ms ticks so the aftermath settles in seconds. ROBUSTNESS_SEED picks the kill times.
 *
 * Afterwards, with the service running normally until quiet, the database is read directly:
 *  - every accepted upload (200/202 seen by the client) is `completed` or `failed` (or `cancelled`, when its cancel
 *    was accepted) with exactly its events; nothing is left `processing` or `ready_for_processing`;
 *  - every event has its deliveries (one per subscribed endpoint, plus the per-request target), every delivery is
 *    `delivered` or `pending` on schedule, none `in_flight`, none `exhausted`, and every delivered one reached the
 *    receiver;
 *  - credits: initial − Σ credits_charged + Σ credits_refunded = final, over every upload in the database (an
 *    upload whose response was lost to a kill counts too — it may exist or not, never half);
 *  - an upload the client never saw accepted exists only if its request was cut off by a kill.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { cli, Rng, serviceEnvironment, sleep } from './support';

const SOAK_MS = Number(process.env.ROBUSTNESS_SOAK_MS ?? 60_000);
const SEED = Number(process.env.ROBUSTNESS_SEED ?? 7);
const CREDITS = 100_000_000;
const EVENTS_ALL = ['upload.created', 'upload.completed', 'upload.failed'];

type Row = Record<string, any>;

interface SqliteHandle {
  prepare(sql: string): { all(): unknown[] };
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no type declarations
const openSqlite = (file: string): SqliteHandle => new (require('better-sqlite3'))(file, { readonly: true, fileMustExist: true });

/** Plain SQL on the service's database, either engine. */
class Db {
  private constructor(
    private readonly pg: Client | null,
    private readonly lite: SqliteHandle | null,
  ) {}
  static async open(pgUrl: string | null, dataDir: string): Promise<Db> {
    if (pgUrl) {
      const c = new Client({ connectionString: pgUrl });
      await c.connect();
      return new Db(c, null);
    }
    return new Db(null, openSqlite(join(dataDir, 'optimaldial.sqlite')));
  }
  async all(sql: string): Promise<Row[]> {
    if (this.pg) return (await this.pg.query(sql)).rows;
    return this.lite!.prepare(sql).all() as Row[];
  }
  async close(): Promise<void> {
    await this.pg?.end();
    this.lite?.close();
  }
}

describe(`crash and soak: kill -9 every few seconds for ${SOAK_MS / 1000} s`, () => {
  let envInfo: Awaited<ReturnType<typeof serviceEnvironment>>;
  let env: Record<string, string>;
  let receiver: Receiver;
  let service: ServiceProcess | null = null;
  const dead: ServiceProcess[] = [];

  beforeAll(async () => {
    envInfo = await serviceEnvironment('soak');
    receiver = await Receiver.http();
    env = {
      ...envInfo.env,
      ...LOCAL_DELIVERY_ENV,
      DELIVERY_PROCESSOR_ENABLED: 'true',
      UPLOAD_PROCESSOR_ENABLED: 'true',
      DELIVERY_LEASE_MS: '2000',
      UPLOAD_LEASE_MS: '3000',
      DELIVERY_TICK_MS: '200',
      UPLOAD_TICK_MS: '200',
      DELIVERY_TIMEOUT_MS: '1500',
      WEBHOOK_PING_TIMEOUT_MS: '3000',
      RATE_LIMIT_PER_KEY: '1000000',
      RATE_LIMIT_PER_ORGANIZATION: '1000000',
      SHUTDOWN_GRACE_MS: '5000',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      service.signal('SIGKILL');
      await service.exit();
    }
    await receiver?.close();
    await envInfo?.drop();
  });

  it('loses nothing: every accepted upload finished with its events, every event delivered or on schedule, credits exact', async () => {
    const rng = new Rng(SEED);
    const created = await cli(env, ['org:create', '--name', 'Soak', '--owner-email', 'soak@example.com', '--credits', String(CREDITS)]);
    const auth = { Authorization: `Bearer ${created.api_key}`, 'Content-Type': 'application/json' };
    const orgId: string = created.organization.id;

    // the receiver: 200 for everything, remembering what arrived
    const seen = new Map<string, number>(); // delivery id → requests received
    const seenAttempts = new Map<string, number>(); // `${delivery id}#${attempt}` → times received
    const firstSeenAt = new Map<string, number>(); // `${delivery id}#${attempt}` → first arrival
    receiver.respond = (req, res) => {
      const id = req.headers['x-optimaldial-delivery-id'] as string | undefined;
      if (id && req.headers['x-optimaldial-event'] !== 'webhook.ping') {
        seen.set(id, (seen.get(id) ?? 0) + 1);
        const k = `${id}#${req.headers['x-optimaldial-attempt']}`;
        seenAttempts.set(k, (seenAttempts.get(k) ?? 0) + 1);
        if (!firstSeenAt.has(k)) firstSeenAt.set(k, req.at);
      }
      res.writeHead(200);
      res.end('ok');
    };

    service = await ServiceProcess.start(env, await freePort());
    const endpoints: string[] = [];
    for (const path of ['/ep-a', '/ep-b']) {
      const r = await fetch(`${service.baseUrl}/api/v1/webhooks`, { method: 'POST', headers: auth, body: JSON.stringify({ url: `${receiver.url}${path}`, events: EVENTS_ALL }) });
      expect(r.status).toBe(200);
      endpoints.push(((await r.json()) as { webhook: { id: string } }).webhook.id);
    }

    /* ---- load and kills ---- */
    const accepted = new Map<string, { credits: number; webhook: boolean }>();
    const cancelled = new Set<string>();
    const acceptedTests: Array<{ eventId: string; deliveryId: string }> = [];
    let ambiguous = 0; // requests cut off by a kill: the client cannot know whether they were applied
    const ambiguousCancels = new Set<string>(); // cancels cut off by a kill: applied or not
    const laneErrors: string[] = [];
    let refused = 0;
    let kills = 0;
    const killTimes: number[] = [];
    let phoneStart = 0;
    let stop = false;
    const perRequestSecrets: string[] = [];

    type Outcome = { status: number; body: any } | 'refused' | 'cut';
    async function call(method: string, path: string, body?: unknown): Promise<Outcome> {
      const s = service;
      if (!s || s.exitCode !== null) return 'refused';
      try {
        const r = await fetch(`${s.baseUrl}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
        return { status: r.status, body: await r.json().catch(() => null) };
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code;
        return code === 'ECONNREFUSED' ? 'refused' : 'cut';
      }
    }

    async function uploader(lane: number): Promise<void> {
      const r = new Rng(SEED * 100 + lane);
      let i = 0;
      while (!stop) {
        const n = 100 + r.int(201);
        const phones = validPhones(n, (phoneStart += 400));
        const withHook = r.chance(0.35);
        const body: Record<string, unknown> = { phone_numbers: phones, filename: `soak-${lane}-${i++}.csv` };
        if (withHook) {
          const secret = `soak-secret-${r.hex(12)}`;
          if (r.chance(0.5)) perRequestSecrets.push(secret);
          body.webhook = perRequestSecrets.at(-1) === secret ? { url: `${receiver.url}/per-request/${lane}`, secret } : { url: `${receiver.url}/per-request/${lane}`, delay: 1 };
        }
        const o = await call('POST', '/api/v1/uploads', body);
        if (o === 'refused') {
          refused++;
          await sleep(100);
          continue;
        }
        if (o === 'cut') {
          ambiguous++;
          continue;
        }
        if (o.status !== 200 && o.status !== 202) throw new Error(`upload answered ${o.status}: ${JSON.stringify(o.body)}`);
        if (o.status !== (withHook ? 202 : 200)) throw new Error(`upload ${withHook ? 'with' : 'without'} a webhook answered ${o.status}`);
        accepted.set(o.body.id, { credits: o.body.credits_charged, webhook: withHook });
        // now and then, cancel one straight away (it may already be processing: 409 is a fine answer)
        if (r.chance(0.1)) {
          const c = await call('DELETE', `/api/v1/uploads/${o.body.id}`);
          if (c === 'cut') ambiguousCancels.add(o.body.id);
          else if (c !== 'refused' && c.status === 200) cancelled.add(o.body.id);
          else if (c !== 'refused' && c.status !== 409) throw new Error(`cancel answered ${c.status}: ${JSON.stringify(c.body)}`);
        }
      }
    }

    async function tester(): Promise<void> {
      const r = new Rng(SEED * 1000);
      while (!stop) {
        const ep = r.pick(endpoints);
        const o = await call('POST', `/api/v1/webhooks/${ep}/test`, { event_type: r.pick(EVENTS_ALL) });
        if (o === 'refused') await sleep(100);
        else if (o !== 'cut') {
          if (o.status !== 200) throw new Error(`test event answered ${o.status}: ${JSON.stringify(o.body)}`);
          acceptedTests.push({ eventId: o.body.event_id, deliveryId: o.body.delivery_id });
        }
        await sleep(50 + r.int(150));
      }
    }

    async function killer(): Promise<void> {
      const until = Date.now() + SOAK_MS;
      while (Date.now() < until) {
        await sleep(2000 + rng.int(3000));
        const victim = service!;
        killTimes.push(Date.now());
        victim.signal('SIGKILL');
        await victim.exit();
        dead.push(victim);
        kills++;
        service = null;
        service = await ServiceProcess.start(env, await freePort());
      }
      stop = true;
    }

    const started = Date.now();
    const lane = (p: Promise<void>) =>
      p.catch((e) => {
        laneErrors.push((e as Error).message);
        stop = true;
      });
    const lanes = [lane(uploader(0)), lane(uploader(1)), lane(tester())];
    await killer();
    await Promise.all(lanes);
    const soakSeconds = (Date.now() - started) / 1000;

    /* ---- let the last instance run until quiet ---- */
    const db = await Db.open(envInfo.pgUrl, envInfo.dataDir);
    const quietBy = Date.now() + 120_000;
    let last: Row = {};
    for (;;) {
      const now = Date.now();
      const [u] = await db.all(`SELECT COUNT(*) AS n FROM uploads WHERE status IN ('processing', 'ready_for_processing')`);
      const [f] = await db.all(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'in_flight'`);
      // due now or within 2 s (a per-request webhook's 1 s delay): wait for those too
      const [p] = await db.all(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending' AND next_retry_at <= ${now + 2000}`);
      last = { busyUploads: Number(u.n), inFlight: Number(f.n), duePending: Number(p.n) };
      if (!last.busyUploads && !last.inFlight && !last.duePending) break;
      if (Date.now() > quietBy) break;
      await sleep(250);
    }
    service!.signal('SIGTERM');
    const exitCode = await service!.exit();

    /* ---- what the database says ---- */
    const uploads = await db.all(`SELECT id, status, credits_charged, credits_refunded, webhook FROM uploads WHERE organization_id = '${orgId}'`);
    const events = await db.all(`SELECT id, type, upload_id FROM events WHERE organization_id = '${orgId}'`);
    const deliveries = await db.all(`SELECT id, event_id, event_type, webhook_endpoint_id, upload_id, status, attempt_count, next_retry_at, last_error, last_response_status FROM deliveries WHERE organization_id = '${orgId}'`);
    const [org] = await db.all(`SELECT credits_balance FROM organizations WHERE id = '${orgId}'`);
    await db.close();

    const problems: string[] = laneErrors.map((e) => `client: ${e}`);
    // log hygiene over every instance's logs, crashes included
    const allLogs = [...dead, service!].flatMap((s) => s.logs);
    for (const secret of [created.api_key, ...perRequestSecrets]) {
      const hit = allLogs.find((l) => l.includes(secret));
      if (hit) problems.push(`a secret appears in a log line: ${hit.slice(0, 200)}`);
    }
    const byId = new Map(uploads.map((u) => [u.id as string, u]));
    const eventsOf = new Map<string, Row[]>();
    for (const e of events) if (e.upload_id) eventsOf.set(e.upload_id, [...(eventsOf.get(e.upload_id) ?? []), e]);
    const deliveriesOf = new Map<string, Row[]>();
    for (const d of deliveries) deliveriesOf.set(d.event_id, [...(deliveriesOf.get(d.event_id) ?? []), d]);

    if (last.busyUploads || last.inFlight || last.duePending) problems.push(`never went quiet: ${JSON.stringify(last)}`);
    for (const [id, a] of accepted) {
      const u = byId.get(id);
      if (!u) {
        problems.push(`accepted upload ${id} is missing`);
        continue;
      }
      const want = cancelled.has(id) ? ['cancelled'] : ambiguousCancels.has(id) ? ['cancelled', 'completed', 'failed'] : ['completed', 'failed'];
      if (!want.includes(u.status)) problems.push(`accepted upload ${id} is ${u.status}, expected ${want.join(' or ')}`);
      if (Number(u.credits_charged) !== a.credits) problems.push(`upload ${id} charged ${u.credits_charged}, the response said ${a.credits}`);
    }
    const unseen = uploads.filter((u) => !accepted.has(u.id));
    if (unseen.length > ambiguous) problems.push(`${unseen.length} uploads exist that no client saw accepted, but only ${ambiguous} requests were cut off`);
    for (const u of uploads) {
      if (u.status === 'processing' || u.status === 'ready_for_processing') problems.push(`upload ${u.id} stuck in ${u.status}`);
      const evs = eventsOf.get(u.id) ?? [];
      const count = (t: string) => evs.filter((e) => e.type === t).length;
      const expected: Record<string, number> = {
        'upload.created': 1,
        'upload.completed': u.status === 'completed' ? 1 : 0,
        'upload.failed': u.status === 'failed' ? 1 : 0,
      };
      for (const [type, n] of Object.entries(expected)) if (count(type) !== n) problems.push(`upload ${u.id} (${u.status}) has ${count(type)} ${type} events, expected ${n}`);
      const hasHook = u.webhook !== null && u.webhook !== undefined && u.webhook !== 'null';
      for (const e of evs) {
        const ds = deliveriesOf.get(e.id) ?? [];
        const toEndpoints = ds.filter((d) => d.webhook_endpoint_id).map((d) => d.webhook_endpoint_id).sort();
        if (JSON.stringify(toEndpoints) !== JSON.stringify([...endpoints].sort())) problems.push(`event ${e.id} (${e.type}) has endpoint deliveries ${JSON.stringify(toEndpoints)}`);
        const perRequest = ds.filter((d) => !d.webhook_endpoint_id).length;
        const wantPerRequest = hasHook && e.type !== 'upload.created' ? 1 : 0;
        if (perRequest !== wantPerRequest) problems.push(`event ${e.id} (${e.type}) of upload ${u.id} has ${perRequest} per-request deliveries, expected ${wantPerRequest}`);
      }
    }
    for (const tst of acceptedTests) {
      const ds = deliveriesOf.get(tst.eventId) ?? [];
      if (ds.length !== 1 || ds[0].id !== tst.deliveryId) problems.push(`test event ${tst.eventId} has deliveries ${JSON.stringify(ds.map((d) => d.id))}, expected [${tst.deliveryId}]`);
    }
    const now = Date.now();
    const status: Record<string, number> = {};
    for (const d of deliveries) {
      status[d.status] = (status[d.status] ?? 0) + 1;
      if (d.status === 'delivered') {
        if (!seen.has(d.id)) problems.push(`delivery ${d.id} is delivered but never reached the receiver`);
      } else if (d.status === 'pending') {
        if (!(Number(d.next_retry_at) > now - 1000) || Number(d.attempt_count) >= 6) problems.push(`delivery ${d.id} pending off schedule: next_retry_at ${d.next_retry_at}, attempts ${d.attempt_count}`);
      } else problems.push(`delivery ${d.id} is ${d.status}`);
    }
    const charged = uploads.reduce((s, u) => s + Number(u.credits_charged), 0);
    const refunded = uploads.reduce((s, u) => s + Number(u.credits_refunded), 0);
    const balance = Number(org.credits_balance);
    if (CREDITS - charged + refunded !== balance) problems.push(`credits: ${CREDITS} − ${charged} + ${refunded} = ${CREDITS - charged + refunded}, but the balance is ${balance}`);
    const acceptedCharged = [...accepted.values()].reduce((s, a) => s + a.credits, 0);

    const duplicates = [...seen.values()].reduce((s, n) => s + (n - 1), 0);
    const sameAttemptTwice = [...seenAttempts.values()].filter((n) => n > 1).length;
    // a duplicate is explained by a kill when its first copy went out shortly before one (on the wire, or sent but not yet recorded)
    const unexplained = [...seenAttempts.entries()].filter(([k, n]) => n > 1 && !killTimes.some((kt) => firstSeenAt.get(k)! <= kt + 100 && firstSeenAt.get(k)! >= kt - 5000)).length;
    const by = (s: string) => uploads.filter((u) => u.status === s).length;
    process.stderr.write(
      [
        `crash-soak (${envInfo.pgUrl ? 'postgres' : 'better-sqlite3'}, seed ${SEED}): ${soakSeconds.toFixed(0)} s, kills survived ${kills}, final SIGTERM exit ${exitCode}`,
        `  uploads: ${accepted.size} accepted (${acceptedCharged} credits), ${ambiguous} cut off by a kill, ${refused} refused while down; in the database ${uploads.length}: completed ${by('completed')}, failed ${by('failed')}, cancelled ${by('cancelled')} (${cancelled.size} cancels accepted, ${ambiguousCancels.size} cut off)`,
        `  events ${events.length} (test events ${acceptedTests.length}); deliveries ${deliveries.length}: ${JSON.stringify(status)}`,
        ...deliveries.filter((d) => d.status !== 'delivered').slice(0, 10).map((d) => `    not yet delivered: ${d.id} ${d.status}, attempts ${d.attempt_count}, last error ${d.last_error ?? d.last_response_status}`),
        `  receiver: ${seen.size} deliveries received, ${duplicates} duplicate requests (${sameAttemptTwice} attempts received twice — at-least-once after a kill; ${unexplained} of them not within 5 s before a kill)`,
        `  credits: ${CREDITS} − ${charged} + ${refunded} = ${balance}`,
        `  items lost or inconsistent: ${problems.length}`,
        ...problems.slice(0, 40).map((p) => `   - ${p}`),
        '',
      ].join('\n'),
    );
    expect(kills).toBeGreaterThanOrEqual(Math.max(3, Math.floor(SOAK_MS / 15_000)));
    expect(accepted.size).toBeGreaterThan(20);
    expect(problems).toEqual([]);
    expect(exitCode).toBe(0);
  });
});
