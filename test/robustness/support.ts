/**
 * Helpers shared by the robustness suites (issue 9): a seeded PRNG, the SPEC §2 envelope check, database
 * snapshots (row counts of every table + credit balances), a raw-socket HTTP client for requests supertest refuses
 * to send, a throwaway database for service processes, and the admin CLI.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseService } from '../../src/database/database.service';
import { freshPostgres } from '../support/test-app';

export const ROOT = join(__dirname, '../..');

/** mulberry32: small, fast, good enough to pick fuzz cases; the seed is printed so a failure reproduces. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)];
    return s;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** Why a 4xx body is not the SPEC §2 envelope, or null when it is. */
export function envelopeProblem(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return `body is not a JSON object: ${String(JSON.stringify(body)).slice(0, 200)}`;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'detail') return `body keys are ${JSON.stringify(keys)}, expected ["detail"]`;
  const d = (body as { detail: unknown }).detail;
  if (typeof d === 'string') return d.length ? null : 'detail is an empty string';
  if (d && typeof d === 'object' && !Array.isArray(d) && typeof (d as { error?: unknown }).error === 'string') return null;
  return `detail is neither a string nor an object with a string "error": ${JSON.stringify(d).slice(0, 200)}`;
}

export interface DbSnapshot {
  counts: Record<string, number>;
  credits: Record<string, number>;
}

/**
 * Row counts of every table the entities map (rate-limit counters excepted: every write, accepted or not, is
 * counted there by design, SPEC §3.4) and every organization's credit balance.
 */
export async function snapshot(db: DatabaseService, exclude: string[] = ['rate_limit_counters']): Promise<DbSnapshot> {
  const ds = db.dataSource;
  const tables = [...new Set(ds.entityMetadatas.map((m) => m.tableName))].filter((t) => !exclude.includes(t)).sort();
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const rows = await ds.query(`SELECT COUNT(*) AS n FROM ${t}`);
    counts[t] = Number(rows[0].n);
  }
  const orgs: Array<{ id: string; credits_balance: number | string }> = await ds.query('SELECT id, credits_balance FROM organizations');
  const credits = Object.fromEntries(orgs.map((o) => [o.id, Number(o.credits_balance)]));
  return { counts, credits };
}

/** Human-readable difference between two snapshots, or null when they are equal. */
export function snapshotDiff(a: DbSnapshot, b: DbSnapshot): string | null {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a.counts), ...Object.keys(b.counts)])) {
    if (a.counts[k] !== b.counts[k]) out.push(`${k}: ${a.counts[k]} → ${b.counts[k]}`);
  }
  for (const k of new Set([...Object.keys(a.credits), ...Object.keys(b.credits)])) {
    if (a.credits[k] !== b.credits[k]) out.push(`credits of ${k}: ${a.credits[k]} → ${b.credits[k]}`);
  }
  return out.length ? out.join('; ') : null;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json: unknown;
  raw: string;
}

/**
 * Sends exactly these bytes on a fresh TCP connection and reads until the server closes it (requests should say
 * `Connection: close`). For what supertest cannot send: NUL bytes, invalid UTF-8 in the request line, duplicated
 * headers, broken framing. Resolves status 0 when the server closed without answering.
 */
export function rawRequest(port: number, bytes: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw request got no complete answer within ${timeoutMs} ms: ${String(bytes).slice(0, 120)}`));
    }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseRawResponse(Buffer.concat(chunks)));
    });
    sock.write(bytes);
  });
}

function parseRawResponse(buf: Buffer): RawResponse {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), json: null, raw: buf.toString('latin1') };
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  let json: unknown = null;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    /* not JSON */
  }
  return { status, headers, body, json, raw: buf.toString('latin1') };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!size) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** Resident set size of a process, from /proc (bytes). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A callable gc() even without --expose-gc (the flag is set at run time; the function comes from a new context). */
export function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  require('node:v8').setFlagsFromString('--expose-gc');
  return require('node:vm').runInNewContext('gc') as () => void;
}

/** A data directory and, with TEST_DATABASE_URL, a fresh PostgreSQL database: the environment of a service process. */
export async function serviceEnvironment(prefix: string): Promise<{ env: Record<string, string>; dataDir: string; pgUrl: string | null; drop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), `od-${prefix}-`));
  const env: Record<string, string> = { DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
  const pg = await freshPostgres(prefix);
  if (pg) env.DATABASE_URL = pg.url;
  return {
    env,
    dataDir,
    pgUrl: env.DATABASE_URL ?? null,
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await pg?.drop();
    },
  };
}


/** The admin CLI on the service's database (SPEC §3.2); resolves its JSON output. */
export async function cli(env: Record<string, string>, args: string[]): Promise<any> {
  return (await cliRun(env, args)).out;
}

/** The admin CLI, with what it wrote to stderr (its log lines). */
export function cliRun(env: Record<string, string>, args: string[]): Promise<{ out: any; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'src/cli.ts', ...args],
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`cli ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        try {
          resolve({ out: JSON.parse(stdout), stderr });
        } catch {
          reject(new Error(`cli ${args.join(' ')} printed no JSON: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { waitFor } from '../support/poll';
