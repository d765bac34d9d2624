/**
 * Contacts API throughput (SPEC §11), on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL.
 *
 *   npm run bench:contacts
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:contacts     both engines
 *   BENCH_ACCEPT=3000 BENCH_PROCESS=20000 BENCH_CLIENTS=8 npm run bench:contacts
 *
 * Baseline (same process, same numbers): the shared phone normalizer alone (normalizePhone, as POST /contacts
 * calls it), one call per number.
 * Measured:
 *  - accepted/s: POST /api/v1/contacts over HTTP (keep-alive fetch) from BENCH_CLIENTS concurrent clients, each
 *    waiting for its answer before sending the next; every answer must be 200 with a queued contact, and the
 *    balance must have dropped by exactly the number accepted. Rate limits are raised for the run.
 *  - processed/s: ContactProcessor.processDueContacts() over BENCH_PROCESS queued contacts of an organization with
 *    one endpoint subscribed to contact.completed/contact.failed, until every contact is terminal; each must be
 *    `completed` with exactly one event and one delivery written (the delivery processor is off: written, not sent).
 */
import { ContactsService } from '../src/contacts/contacts.service';
import { ContactProcessor } from '../src/contacts/contact.processor';
import { DatabaseService } from '../src/database/database.service';
import { normalizePhone } from '../src/uploads/phone/phone-normalizer';
import { AuthService } from '../src/auth/auth.service';
import { formatPhone, validPhones } from '../test/support/phone-data';
import { TestApp } from '../test/support/test-app';
import { LOCAL_DELIVERY_ENV } from '../test/support/receiver';
import { BENCH_RATE_LIMIT_ENV, bootApp, Checks, Engine, envInt, fmtMs, fmtRate, header, perSecond, row, startReceiverChild, timed, runBench } from './support';

const ACCEPT = envInt('BENCH_ACCEPT', 3000);
const PROCESS = envInt('BENCH_PROCESS', 20_000);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const checks = new Checks();

async function count(db: DatabaseService, sql: string): Promise<number> {
  const rows = await db.dataSource.query(sql);
  return Number(rows[0].n);
}

async function acceptOverHttp(t: TestApp, raw: string[]): Promise<{ ms: number; accepted: number; cpuMs: number }> {
  const org = await t.createOrganization({ credits: raw.length });
  await t.get(AuthService).setFeatures(org.organizationId, { enable: ['single_contact_api'] });
  const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
  let next = 0;
  let accepted = 0;
  const bad: string[] = [];
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= raw.length) return;
      const res = await fetch(`${base}/api/v1/contacts`, {
        method: 'POST',
        headers: { ...org.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ phone: raw[i], properties: { row: i } }),
      });
      const body = (await res.json()) as { status?: string };
      if (res.status === 200 && body.status === 'queued') accepted++;
      else if (bad.length < 5) bad.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  };
  // warm-up: one request per client, not measured
  const warm = raw.splice(0, CLIENTS);
  await Promise.all(warm.map((phone) => fetch(`${base}/api/v1/contacts`, { method: 'POST', headers: { ...org.auth, 'content-type': 'application/json' }, body: JSON.stringify({ phone }) }).then((r) => r.arrayBuffer())));
  const cpu = process.cpuUsage();
  const run = await timed(() => Promise.all(Array.from({ length: CLIENTS }, client)));
  const used = process.cpuUsage(cpu);
  checks.expect(accepted === raw.length, `HTTP: ${accepted} of ${raw.length} accepted; e.g. ${bad.join(' | ')}`);
  const left = (await t.get(AuthService).getOrganization(org.organizationId))!.creditsBalance;
  checks.expect(left === 0, `HTTP: balance ${left} after accepting every contact, expected 0`);
  return { ms: run.ms, accepted, cpuMs: (used.user + used.system) / 1000 };
}

async function processAll(t: TestApp, e164: string[], hookUrl: string): Promise<{ ms: number; processed: number; cpuMs: number }> {
  const org = await t.createOrganization({ credits: e164.length });
  const auth = t.get(AuthService);
  await auth.setFeatures(org.organizationId, { enable: ['single_contact_api'] });
  const hook = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${hookUrl}/contacts`, events: ['contact.completed', 'contact.failed'] });
  checks.expect(hook.status === 200, `endpoint registration: HTTP ${hook.status} ${JSON.stringify(hook.body)}`);
  const key = await auth.mintKey({ organizationId: org.organizationId, userId: org.userId });
  const principal = { organizationId: org.organizationId, userId: org.userId, apiKeyId: key.key.id, scopes: key.key.scopes };
  const service = t.get(ContactsService);
  // queued through the service (the HTTP path is measured above); bounded concurrency
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= e164.length) return;
        await service.create(principal, { phone: e164[i] });
      }
    }),
  );
  const db = t.get(DatabaseService);
  const orgId = org.organizationId;
  checks.expect((await count(db, `SELECT COUNT(*) AS n FROM contacts WHERE organization_id = '${orgId}' AND status = 'queued'`)) === e164.length, 'not every contact is queued before processing');
  // the HTTP phase's contacts (another organization, no endpoint) are still queued: they are processed in this run too
  const queued = await count(db, `SELECT COUNT(*) AS n FROM contacts WHERE status = 'queued'`);
  const cpu = process.cpuUsage();
  const run = await timed(() => t.get(ContactProcessor).processDueContacts());
  const used = process.cpuUsage(cpu);
  const completed = await count(db, `SELECT COUNT(*) AS n FROM contacts WHERE organization_id = '${orgId}' AND status = 'completed'`);
  const notDone = await count(db, `SELECT COUNT(*) AS n FROM contacts WHERE status <> 'completed'`);
  const events = await count(db, `SELECT COUNT(*) AS n FROM events WHERE organization_id = '${orgId}' AND type = 'contact.completed'`);
  const deliveries = await count(db, `SELECT COUNT(*) AS n FROM deliveries WHERE organization_id = '${orgId}' AND contact_id IS NOT NULL`);
  checks.expect(run.value === queued && completed === e164.length && notDone === 0, `processing: ${run.value} finished of ${queued} queued, ${completed} of ${e164.length} completed, ${notDone} not completed`);
  checks.expect(events === e164.length && deliveries === e164.length, `processing: ${events} events and ${deliveries} deliveries for ${e164.length} contacts`);
  return { ms: run.ms, processed: run.value, cpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<number> {
  header(`contacts benchmark (SPEC §11): ${ACCEPT} over HTTP with ${CLIENTS} clients, ${PROCESS} processed`);
  const engines: Engine[] = process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  const acceptE164 = validPhones(ACCEPT + CLIENTS, 0);
  const acceptRaw = acceptE164.map((n, i) => formatPhone(n, i));
  const processE164 = validPhones(PROCESS, 1_000_000);

  // baseline: the normalizer alone on the numbers the HTTP phase sends
  let valid = 0;
  normalizePhone('+14152345678'); // loads the metadata: not part of the per-number cost
  const base = await timed(() => {
    for (const s of acceptRaw) if (normalizePhone(s)) valid++;
  });
  checks.expect(valid === acceptRaw.length, `baseline: normalizePhone accepts ${valid} of ${acceptRaw.length}`);
  const receiver = await startReceiverChild(1);
  const lines: string[] = [];
  lines.push(row('baseline: normalizePhone alone', fmtRate(perSecond(acceptRaw.length, base.ms)), fmtMs(base.ms), ''));
  lines.push(row('', '', '', ''));
  try {
    for (const engine of engines) {
      const t = await bootApp(engine, { ...BENCH_RATE_LIMIT_ENV, ...LOCAL_DELIVERY_ENV });
      try {
        const a = await acceptOverHttp(t, [...acceptRaw]);
        lines.push(row(`${engine}: POST /contacts accepted (${CLIENTS} clients)`, fmtRate(perSecond(a.accepted, a.ms)), fmtMs(a.ms), fmtRate(perSecond(a.accepted, a.cpuMs))));
        const p = await processAll(t, processE164, receiver.origins[0]);
        lines.push(row(`${engine}: processed → completed + event written`, fmtRate(perSecond(p.processed, p.ms)), fmtMs(p.ms), fmtRate(perSecond(p.processed, p.cpuMs))));
      } finally {
        await t.close();
      }
    }
  } finally {
    await receiver.close();
  }
  console.log('');
  // The last column divides by this process's CPU time instead of wall time: on a shared, loaded machine it is
  // the rate one free core would give (the database server's CPU, on PostgreSQL, is not in it).
  console.log(row('', 'per second', 'time', 'per CPU-s'));
  for (const l of lines) console.log(l);
  console.log(`  goals (SQLite): accepted ≥ 300/s, processed ≥ 2,000/s`);
  return checks.report();
}

runBench(main);
