/**
 * Contacts under kill -9 (issue 15, crash-soak style): the real service as an OS process with the contact and
 * delivery processors running, killed repeatedly while it works through a queue of contacts (some with a signed
 * callback, some with an unsigned one, all with a subscribed endpoint); some were cancelled while queued.
 *
 * Afterwards, with the service running normally until quiet, the database is read directly:
 *  - every contact is terminal: `completed` (or `discarded`, exactly those cancelled); none is
 *    left `queued` or `processing` (a killed batch's lease expired and another run took it);
 *  - every completed contact has exactly one contact.completed event (the state change and the event commit
 *    together, so a kill can neither lose the event nor, after a re-claim, publish it twice), a discarded one none;
 *  - every event has its deliveries (the endpoint, plus the callback when given), all `delivered`, each received;
 *  - credits: initial − contacts created + discarded = final.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { cli, serviceEnvironment, sleep } from './support';

const CONTACTS = Number(process.env.ROBUSTNESS_CONTACTS ?? 600);
const KILLS = 2;
// ts-node compiles the service at every start: on a loaded 2-core machine that alone can take over a minute
const START_MS = 240_000;
const CREDITS = 100_000;

type Row = Record<string, any>;
interface SqliteHandle {
  prepare(sql: string): { all(): unknown[] };
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no type declarations
const openSqlite = (file: string): SqliteHandle => new (require('better-sqlite3'))(file, { readonly: true, fileMustExist: true });

/** Plain SQL on the service's database, either engine, on one connection kept open (polled every few ms). */
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

async function query(pgUrl: string | null, dataDir: string, sql: string): Promise<Row[]> {
  const db = await Db.open(pgUrl, dataDir);
  try {
    return await db.all(sql);
  } finally {
    await db.close();
  }
}

/**
 * The service as a worker process (HTTP off, processors on), spawned here rather than through ServiceProcess so it
 * can be killed by database state alone: the contact processor starts working before any health check could answer.
 */
function spawnWorker(env: Record<string, string>): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: join(__dirname, '../..'),
    env: { ...process.env, NODE_ENV: 'test', ...env, HTTP_ENABLED: 'false' },
    stdio: 'ignore',
  });
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

describe(`contacts: kill -9 during processing (${CONTACTS} contacts, ${KILLS} kills)`, () => {
  let envInfo: Awaited<ReturnType<typeof serviceEnvironment>>;
  let env: Record<string, string>;
  let receiver: Receiver;
  let service: ServiceProcess | null = null;

  beforeAll(async () => {
    envInfo = await serviceEnvironment('contacts-crash');
    receiver = await Receiver.http();
    env = {
      ...envInfo.env,
      ...LOCAL_DELIVERY_ENV,
      DELIVERY_PROCESSOR_ENABLED: 'true',
      UPLOAD_PROCESSOR_ENABLED: 'false',
      CONTACT_PROCESSOR_ENABLED: 'false', // the queue is filled first, then processing is switched on
      CONTACT_BATCH_SIZE: '25',
      CONTACT_LEASE_MS: '2000',
      CONTACT_TICK_MS: '100',
      DELIVERY_LEASE_MS: '2000',
      DELIVERY_TICK_MS: '200',
      DELIVERY_TIMEOUT_MS: '10000', // the receiver is local; on a loaded machine 1.5 s can pass before it answers
      RATE_LIMIT_PER_KEY: '1000000',
      RATE_LIMIT_PER_ORGANIZATION: '1000000',
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

  it('leaves every contact terminal with exactly its event, every delivery delivered, credits exact', async () => {
    const created = await cli(env, ['org:create', '--name', 'Contacts crash', '--owner-email', 'crash@example.com', '--credits', String(CREDITS)]);
    const orgId: string = created.organization.id;
    await cli(env, ['org:features', '--org', orgId, '--enable', 'single_contact_api']);
    const auth = { Authorization: `Bearer ${created.api_key}`, 'Content-Type': 'application/json' };
    const received = new Map<string, number>(); // delivery id → requests received
    receiver.respond = (req, res) => {
      const id = req.headers['x-optimaldial-delivery-id'] as string | undefined;
      if (id && req.headers['x-optimaldial-event'] !== 'webhook.ping') received.set(id, (received.get(id) ?? 0) + 1);
      res.writeHead(200);
      res.end('ok');
    };

    /* ---- fill the queue (processor off) ---- */
    service = await ServiceProcess.start(env, await freePort(), START_MS);
    const ep = await fetch(`${service.baseUrl}/api/v1/webhooks`, { method: 'POST', headers: auth, body: JSON.stringify({ url: `${receiver.url}/ep`, events: ['contact.completed', 'contact.failed'] }) });
    expect(ep.status).toBe(200);
    const ids: string[] = [];
    const phones = validPhones(CONTACTS, 5000);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const i = next++;
          if (i >= phones.length) return;
          const body: Record<string, unknown> = { phone: phones[i], properties: { i } };
          if (i % 3 === 0) Object.assign(body, { callback_url: `${receiver.url}/cb/${i}`, callback_secret: `secret-${String(i).padStart(12, '0')}` });
          else if (i % 3 === 1) body.callback_url = `${receiver.url}/cb-unsigned/${i}`;
          const r = await fetch(`${service!.baseUrl}/api/v1/contacts`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
          expect(r.status).toBe(i % 3 === 2 ? 200 : 202);
          ids.push(((await r.json()) as { id: string }).id);
        }
      }),
    );

    // cancel some while they are queued: discarded and refunded, and never processed
    const cancelled = new Set<string>();
    for (let j = 0; j < ids.length; j += 17) {
      const r = await fetch(`${service.baseUrl}/api/v1/contacts/${ids[j]}`, { method: 'DELETE', headers: auth });
      expect(r.status).toBe(200);
      cancelled.add(ids[j]);
    }
    service.signal('SIGKILL');
    await service.exit();

    /* ---- process, killing the worker mid-queue ---- */
    const processingEnv = { ...env, CONTACT_PROCESSOR_ENABLED: 'true' };
    const db = await Db.open(envInfo.pgUrl, envInfo.dataDir);
    const atKill: Array<{ processing: number; terminal: number }> = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        const before = Number((await db.all(`SELECT COUNT(*) AS n FROM contacts WHERE status = 'completed'`))[0].n);
        const target = before + Math.round((CONTACTS - cancelled.size) / (KILLS + 2));
        const w = spawnWorker(processingEnv);
        // kill once `target` contacts are completed and a batch is claimed (`processing` from its claim to its
        // commit): mid-queue and mid-batch
        const deadline = Date.now() + START_MS;
        let exitedEarly = false;
        void w.exited.then(() => (exitedEarly = true));
        for (;;) {
          const [r] = await db.all(
            `SELECT SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS c, SUM(CASE WHEN status = 'processing' THEN 1 ELSE 0 END) AS p FROM contacts`,
          );
          // past the target and with a batch claimed (right after a commit the next claim has not happened yet)
          if ((Number(r.c ?? 0) >= target && Number(r.p ?? 0) > 0) || exitedEarly || Date.now() > deadline) break;
          await sleep(2);
        }
        w.child.kill('SIGKILL');
        await w.exited;
        const [st] = await db.all(
          `SELECT SUM(CASE WHEN status = 'processing' THEN 1 ELSE 0 END) AS p, SUM(CASE WHEN status IN ('completed', 'failed', 'discarded') THEN 1 ELSE 0 END) AS t FROM contacts`,
        );
        atKill.push({ processing: Number(st.p ?? 0), terminal: Number(st.t ?? 0) });
      }
    } finally {
      await db.close();
    }
    process.stderr.write(`contacts crash: at each kill ${JSON.stringify(atKill)}; cancelled ${cancelled.size}\n`);
    // the scenario happened: some kill left a claimed batch behind and some work for the next run
    expect(atKill.some((a) => a.processing > 0)).toBe(true);
    expect(atKill.every((a) => a.terminal < CONTACTS)).toBe(true);

    // the last run (HTTP on) is left to finish: the killed batches' leases expire within 2 s
    service = await ServiceProcess.start(processingEnv, await freePort(), START_MS);

    // settle: processing done, every delivery delivered (leases of killed runs expire within 2 s)
    const deadline = Date.now() + 180_000;
    for (;;) {
      const [r] = await query(
        envInfo.pgUrl,
        envInfo.dataDir,
        `SELECT (SELECT COUNT(*) FROM contacts WHERE status IN ('queued', 'processing')) AS c, ` +
          `(SELECT COUNT(*) FROM deliveries WHERE status = 'in_flight' OR (status = 'pending' AND attempt_count = 0)) AS d`,
      );
      if ((Number(r.c) === 0 && Number(r.d) === 0) || Date.now() > deadline) break;
      await sleep(200);
    }

    /* ---- the database, read directly ---- */
    const contacts = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, status, callback_url FROM contacts`);
    expect(contacts).toHaveLength(CONTACTS);
    const byStatus = (s: string) => contacts.filter((c) => c.status === s);
    expect(byStatus('queued').length + byStatus('processing').length).toBe(0);
    expect(byStatus('failed')).toHaveLength(0); // the offline classifier never fails
    for (const id of cancelled) expect(contacts.find((c) => c.id === id)!.status).toBe('discarded');
    expect(byStatus('discarded').map((c) => c.id).sort()).toEqual([...cancelled].sort());

    const events = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, type, payload FROM events WHERE type LIKE 'contact.%'`);
    const eventsByContact = new Map<string, number>();
    for (const e of events) {
      const id = JSON.parse(e.payload).data.contact.id as string;
      eventsByContact.set(id, (eventsByContact.get(id) ?? 0) + 1);
      expect(e.type).toBe('contact.completed');
    }
    for (const c of contacts) expect({ id: c.id, events: eventsByContact.get(c.id) ?? 0 }).toEqual({ id: c.id, events: c.status === 'completed' ? 1 : 0 });

    const deliveries = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, event_id, contact_id, webhook_endpoint_id, status, attempt_count, next_retry_at FROM deliveries WHERE contact_id IS NOT NULL`);
    const completed = byStatus('completed');
    const expectedDeliveries = completed.length + completed.filter((c) => c.callback_url).length;
    expect(deliveries).toHaveLength(expectedDeliveries);
    for (const d of deliveries) {
      // delivered and received, or (an attempt failed on the loaded machine, e.g. a timeout) waiting for its retry
      if (d.status === 'delivered') expect(received.get(d.id) ?? 0).toBeGreaterThanOrEqual(1);
      else expect({ id: d.id, status: d.status, retryScheduled: Number(d.attempt_count) >= 1 && d.next_retry_at != null }).toEqual({ id: d.id, status: 'pending', retryScheduled: true });
    }
    const delivered = deliveries.filter((d) => d.status === 'delivered').length;
    process.stderr.write(`contacts crash: ${delivered} of ${deliveries.length} deliveries delivered, the rest on schedule\n`);

    const [org] = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT credits_balance FROM organizations WHERE id = '${orgId}'`);
    expect(Number(org.credits_balance)).toBe(CREDITS - CONTACTS + byStatus('discarded').length);
  }, 1_200_000);
});
