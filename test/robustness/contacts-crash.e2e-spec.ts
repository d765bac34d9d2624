/**
 * Contacts under kill -9 (issue 15, crash-soak style): the real service as an OS process with the contact and
 * delivery processors running, killed repeatedly while it works through a queue of contacts (some with a signed
 * callback, some with an unsigned one, all with a subscribed endpoint) and while a client cancels some of them.
 *
 * Afterwards, with the service running normally until quiet, the database is read directly:
 *  - every contact is terminal: `completed` (or `discarded`, exactly when its cancel answered 200); none is
 *    left `queued` or `processing` (a killed batch's lease expired and another run took it);
 *  - every completed contact has exactly one contact.completed event (the state change and the event commit
 *    together, so a kill can neither lose the event nor, after a re-claim, publish it twice), a discarded one none;
 *  - every event has its deliveries (the endpoint, plus the callback when given), all `delivered`, each received;
 *  - credits: initial − contacts created + discarded = final.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { validPhones } from '../support/factories';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { cli, serviceEnvironment, sleep } from './support';

const CONTACTS = Number(process.env.ROBUSTNESS_CONTACTS ?? 400);
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

async function query(pgUrl: string | null, dataDir: string, sql: string): Promise<Row[]> {
  if (pgUrl) {
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  }
  const db = openSqlite(join(dataDir, 'optimaldial.sqlite'));
  try {
    return db.prepare(sql).all() as Row[];
  } finally {
    db.close();
  }
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
    service.signal('SIGKILL');
    await service.exit();

    /* ---- process with kills, while a client cancels some ---- */
    const processingEnv = { ...env, CONTACT_PROCESSOR_ENABLED: 'true' };
    const cancelled = new Set<string>();
    const cutCancels = new Set<string>();
    const atKill: Array<{ processing: number; terminal: number }> = [];
    for (let k = 0; k <= KILLS; k++) {
      service = await ServiceProcess.start(processingEnv, await freePort(), START_MS);
      if (k === KILLS) break; // the last run is left to finish
      const s = service;
      const target = Math.round(((k + 1) * CONTACTS) / (KILLS + 2));
      // a canceller racing the processor: 200 means discarded and refunded, 409 means the processor won
      const cancelling = (async () => {
        for (let j = k; j < ids.length && s.exitCode === null; j += 17) {
          try {
            const r = await fetch(`${s.baseUrl}/api/v1/contacts/${ids[j]}`, { method: 'DELETE', headers: auth, signal: AbortSignal.timeout(10_000) });
            if (r.status === 200) cancelled.add(ids[j]);
            else if (r.status !== 409) throw new Error(`cancel answered ${r.status}`);
          } catch (e) {
            if ((e as Error).message.startsWith('cancel answered')) throw e;
            cutCancels.add(ids[j]); // cut off by the kill: applied or not
          }
        }
      })();
      // kill once about `target` contacts are terminal: mid-queue, usually mid-batch
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [r] = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT COUNT(*) AS n FROM contacts WHERE status IN ('completed', 'failed', 'discarded')`);
        if (Number(r.n) >= target || Date.now() > deadline) break;
        await sleep(20);
      }
      s.signal('SIGKILL');
      await s.exit();
      await cancelling.catch((e) => {
        throw e;
      });
      const [st] = await query(
        envInfo.pgUrl,
        envInfo.dataDir,
        `SELECT SUM(CASE WHEN status = 'processing' THEN 1 ELSE 0 END) AS p, SUM(CASE WHEN status IN ('completed', 'failed', 'discarded') THEN 1 ELSE 0 END) AS t FROM contacts`,
      );
      atKill.push({ processing: Number(st.p ?? 0), terminal: Number(st.t ?? 0) });
    }

    // settle: processing done, every delivery delivered (leases of killed runs expire within 2 s)
    const deadline = Date.now() + 180_000;
    for (;;) {
      const [r] = await query(
        envInfo.pgUrl,
        envInfo.dataDir,
        `SELECT (SELECT COUNT(*) FROM contacts WHERE status IN ('queued', 'processing')) AS c, (SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered') AS d`,
      );
      if ((Number(r.c) === 0 && Number(r.d) === 0) || Date.now() > deadline) break;
      await sleep(200);
    }
    process.stderr.write(`contacts crash: at each kill ${JSON.stringify(atKill)}; cancels accepted ${cancelled.size}, cut ${cutCancels.size}\n`);

    /* ---- the database, read directly ---- */
    const contacts = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, status, callback_url FROM contacts`);
    expect(contacts).toHaveLength(CONTACTS);
    const byStatus = (s: string) => contacts.filter((c) => c.status === s);
    expect(byStatus('queued').length + byStatus('processing').length).toBe(0);
    expect(byStatus('failed')).toHaveLength(0); // the offline classifier never fails
    for (const id of cancelled) expect(contacts.find((c) => c.id === id)!.status).toBe('discarded');
    for (const c of byStatus('discarded')) expect(cancelled.has(c.id) || cutCancels.has(c.id)).toBe(true);

    const events = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, type, payload FROM events WHERE type LIKE 'contact.%'`);
    const eventsByContact = new Map<string, number>();
    for (const e of events) {
      const id = JSON.parse(e.payload).data.contact.id as string;
      eventsByContact.set(id, (eventsByContact.get(id) ?? 0) + 1);
      expect(e.type).toBe('contact.completed');
    }
    for (const c of contacts) expect({ id: c.id, events: eventsByContact.get(c.id) ?? 0 }).toEqual({ id: c.id, events: c.status === 'completed' ? 1 : 0 });

    const deliveries = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT id, event_id, contact_id, webhook_endpoint_id, status FROM deliveries WHERE contact_id IS NOT NULL`);
    const completed = byStatus('completed');
    const expectedDeliveries = completed.length + completed.filter((c) => c.callback_url).length;
    expect(deliveries).toHaveLength(expectedDeliveries);
    for (const d of deliveries) {
      expect(d.status).toBe('delivered');
      expect(received.get(d.id) ?? 0).toBeGreaterThanOrEqual(1);
    }

    const [org] = await query(envInfo.pgUrl, envInfo.dataDir, `SELECT credits_balance FROM organizations WHERE id = '${orgId}'`);
    expect(Number(org.credits_balance)).toBe(CREDITS - CONTACTS + byStatus('discarded').length);
  }, 1_200_000);
});
