/**
 * Upload throughput (SPEC §4.3, §4.6) for the largest list the API accepts: 250,000 distinct valid numbers.
 *
 *   npm run bench:uploads
 *   BENCH_ROWS=50000 npm run bench:uploads        a smaller list
 *   BENCH_PROCESS_BOTH=1 npm run bench:uploads    process the JSON upload too (default: only the CSV one)
 *
 * Data: distinct US/Canadian numbers over 40 real area codes × every exchange 200–999 except 555 (about 32,000
 * NPA-NXX prefixes, 7–8 numbers each, interleaved so consecutive rows never share a prefix), written in the six
 * shapes SPEC §4.3 accepts. One number per prefix is checked with the service's own normalizePhone before the
 * run; every number is checked by the baseline pass, and the service must then report all of them valid.
 *
 * Baselines (same process, same run): one pass of libphonenumber-js/max parsePhoneNumberFromString(…).isValid()
 * over the same strings, and one csv-parse pass over the same CSV file with the service's parser options.
 * Measured: POST /api/v1/uploads as JSON (validation + charge), POST /api/v1/uploads as multipart CSV, and
 * UploadProcessor.processDueUploads() until the upload is `completed` with one result row per number.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { csvParser } from '../src/uploads/csv/phone-list-scanner';
import { normalizePhone } from '../src/uploads/phone/phone-normalizer';
import { FILE_STORAGE, FileStorage } from '../src/uploads/storage/file-storage';
import { UploadProcessor } from '../src/uploads/upload.processor';
import { csvText, formatPhone } from '../test/support/phone-data';
import { TestApp, TestOrg } from '../test/support/test-app';
import { BENCH_RATE_LIMIT_ENV, bootApp, Checks, envInt, fmtMs, fmtRate, header, perSecond, row, timed, runBench } from './support';

const MAX_JSON_ENTRIES = 250_000;
const ROWS = Math.min(envInt('BENCH_ROWS', MAX_JSON_ENTRIES), MAX_JSON_ENTRIES);
const PROCESS_BOTH = process.env.BENCH_PROCESS_BOTH === '1';

/** Real, assigned area codes: 30 US, 10 Canadian. */
const AREA_CODES = [
  '201', '202', '205', '206', '212', '213', '214', '215', '303', '305', '312', '313', '404', '408', '415',
  '502', '503', '512', '602', '612', '615', '617', '702', '713', '718', '801', '804', '813', '904', '919',
  '403', '416', '418', '438', '514', '587', '604', '613', '647', '780',
];

const checks = new Checks();

/**
 * `rows` distinct numbers: prefix-major would let any prefix cache look perfect, so the k-th number of every
 * prefix comes before the (k+1)-th of any. Returns the E.164 forms and the strings actually sent.
 */
function buildNumbers(rows: number): { e164: string[]; raw: string[]; prefixes: number; rejectedPrefixes: number } {
  const prefixes: string[] = [];
  let rejectedPrefixes = 0;
  for (const area of AREA_CODES) {
    for (let x = 200; x <= 999; x++) {
      if (x === 555) continue;
      const prefix = `${area}${x}`;
      // validity is a property of the NPA-NXX for these ranges: check one number of each prefix
      if (normalizePhone(`+1${prefix}4321`)) prefixes.push(prefix);
      else rejectedPrefixes++;
    }
  }
  const perPrefix = Math.ceil(rows / prefixes.length);
  if (perPrefix > 10_000) throw new Error('not enough prefixes for that many numbers');
  const e164: string[] = [];
  outer: for (let k = 0; k < perPrefix; k++) {
    for (let p = 0; p < prefixes.length; p++) {
      if (e164.length === rows) break outer;
      const salt = (Number(prefixes[p]) * 7919) % 10_000;
      // 1237 is coprime with 10,000: k ↦ subscriber is injective per prefix
      const subscriber = String((k * 1237 + salt) % 10_000).padStart(4, '0');
      e164.push(`+1${prefixes[p]}${subscriber}`);
    }
  }
  const raw = e164.map((n, i) => formatPhone(n, i));
  return { e164, raw, prefixes: prefixes.length, rejectedPrefixes };
}

/** Baseline 1: the library call the normalizer is built on, once per string. */
function libphonenumberPass(raw: string[]): { ms: number; valid: number } {
  const start = performance.now();
  let valid = 0;
  for (const s of raw) {
    const p = parsePhoneNumberFromString(s, 'US');
    if (p && p.isValid() && (p.country === 'US' || p.country === 'CA')) valid++;
  }
  return { ms: performance.now() - start, valid };
}

/** Baseline 2: csv-parse over the file, with the options the service uses, nothing done per row. */
async function csvParsePass(file: string): Promise<{ ms: number; rows: number }> {
  const start = performance.now();
  let rows = 0;
  const parser = createReadStream(file).pipe(csvParser());
  for await (const _row of parser as AsyncIterable<string[]>) rows++;
  return { ms: performance.now() - start, rows };
}

interface UploadBody {
  id: string;
  status: string;
  total_rows: number;
  valid_row_count: number;
  invalid_row_count: number;
  duplicate_row_count: number;
  credits_charged: number;
  processed_storage_path: string | null;
}

function checkCreated(label: string, status: number, body: UploadBody): boolean {
  return checks.expect(
    status === 200 &&
      body.status === 'ready_for_processing' &&
      body.total_rows === ROWS &&
      body.valid_row_count === ROWS &&
      body.invalid_row_count === 0 &&
      body.duplicate_row_count === 0 &&
      body.credits_charged === ROWS,
    `${label}: HTTP ${status} ${JSON.stringify(body).slice(0, 400)}`,
  );
}

async function countLines(storage: FileStorage, key: string): Promise<number> {
  let lines = 0;
  for await (const chunk of storage.read(key) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

async function processAndCheck(t: TestApp, org: TestOrg, id: string, label: string): Promise<number | null> {
  const run = await timed(() => t.get(UploadProcessor).processDueUploads());
  checks.expect(run.value === 1, `${label}: processDueUploads() finished ${run.value} upload(s), expected 1`);
  const res = await t.http.get(`/api/v1/uploads/${id}`).set(org.auth);
  const body = res.body as UploadBody & { error_message: string | null };
  if (!checks.expect(res.status === 200 && body.status === 'completed', `${label}: upload ${id} is ${body.status} (${body.error_message ?? ''})`)) return null;
  const dataRows = (await countLines(t.app.get<FileStorage>(FILE_STORAGE), body.processed_storage_path!)) - 1;
  if (!checks.expect(dataRows === ROWS, `${label}: processed file has ${dataRows} rows, expected ${ROWS}`)) return null;
  return run.ms;
}

async function main(): Promise<number> {
  header(`uploads benchmark (SPEC §4.3, §4.6): ${ROWS.toLocaleString('en-US')} distinct valid numbers`);
  const built = await timed(() => buildNumbers(ROWS));
  const { e164, raw } = built.value;
  checks.expect(new Set(e164).size === ROWS, 'generated numbers are not distinct');
  console.log(`  data: ${built.value.prefixes} NPA-NXX prefixes (${built.value.rejectedPrefixes} rejected by normalizePhone), six input shapes, built in ${fmtMs(built.ms)}`);

  const dir = mkdtempSync(join(tmpdir(), 'od-bench-uploads-'));
  const csvFile = join(dir, 'bench.csv');
  const csv = Buffer.from(csvText([['phone', 'name'], ...raw.map((p, i) => [p, `Contact ${i}`])]));
  writeFileSync(csvFile, csv);
  const json = JSON.stringify({ filename: 'bench.json.csv', phone_numbers: raw });
  console.log(`  payloads: JSON ${(json.length / 1e6).toFixed(1)} MB, CSV ${(csv.length / 1e6).toFixed(1)} MB (phone,name)`);

  // baselines first: they are pure CPU and need nothing from the app
  const lib = libphonenumberPass(raw);
  checks.expect(lib.valid === ROWS, `baseline: libphonenumber-js accepts ${lib.valid} of ${ROWS} numbers`);
  const parsed = await csvParsePass(csvFile);
  checks.expect(parsed.rows === ROWS + 1, `baseline: csv-parse read ${parsed.rows} records, expected ${ROWS + 1}`);
  const libRate = perSecond(ROWS, lib.ms);

  const t = await bootApp('sqlite', { ...BENCH_RATE_LIMIT_ENV, UPLOAD_MAX_JSON_BODY_BYTES: String(256 * 1024 * 1024) });
  const results: Array<{ label: string; ms: number }> = [];
  try {
    const org = await t.createOrganization({ credits: ROWS * 3 });

    const jsonCreate = await timed(() => t.http.post('/api/v1/uploads').set(org.auth).set('content-type', 'application/json').send(json));
    const jsonOk = checkCreated('JSON create', jsonCreate.value.status, jsonCreate.value.body);
    if (jsonOk) results.push({ label: 'POST /uploads JSON (validate + charge)', ms: jsonCreate.ms });

    const csvCreate = await timed(() =>
      t.http.post('/api/v1/uploads').set(org.auth).field('phone_column', 'phone').attach('file', csv, { filename: 'bench.csv', contentType: 'text/csv' }),
    );
    const csvOk = checkCreated('CSV create', csvCreate.value.status, csvCreate.value.body);
    if (csvOk) results.push({ label: 'POST /uploads multipart CSV (validate + charge)', ms: csvCreate.ms });

    // The processor takes the oldest first; only the CSV upload is processed unless asked, to keep the run short.
    if (jsonOk && !PROCESS_BOTH) {
      const cancel = await t.http.delete(`/api/v1/uploads/${jsonCreate.value.body.id}`).set(org.auth);
      checks.expect(cancel.status === 200, `cancelling the JSON upload: HTTP ${cancel.status}`);
    } else if (jsonOk) {
      const ms = await processAndCheck(t, org, jsonCreate.value.body.id, 'JSON upload processing');
      if (ms !== null) results.push({ label: 'UploadProcessor: JSON upload → completed', ms });
    }
    if (csvOk) {
      const ms = await processAndCheck(t, org, csvCreate.value.body.id, 'CSV upload processing');
      if (ms !== null) results.push({ label: 'UploadProcessor: CSV upload → completed', ms });
    }
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('');
  console.log(row('', 'rows/s', 'time', 'vs libphone'));
  console.log(row('baseline: libphonenumber-js/max isValid()', fmtRate(libRate), fmtMs(lib.ms), '1.000'));
  console.log(row('baseline: csv-parse (service options)', fmtRate(perSecond(ROWS, parsed.ms)), fmtMs(parsed.ms), ''));
  for (const r of results) {
    const rate = perSecond(ROWS, r.ms);
    console.log(row(r.label, fmtRate(rate), fmtMs(r.ms), (rate / libRate).toFixed(3)));
  }
  return checks.report();
}

runBench(main);
