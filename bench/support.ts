/**
 * Shared pieces of the benchmarks (never part of the test suite): a fast webhook receiver in a child process,
 * the in-process app (test/support/test-app.ts, so a benchmark boots exactly what the e2e suites boot), timing
 * and printing. Benchmarks print figures and never assert on timing; they exit non-zero only when the work
 * itself did not complete.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Env } from '../src/config/app-config';
import { createTestApp, TestApp } from '../test/support/test-app';

/* ---------------- receiver child process ---------------- */

/**
 * Plain JavaScript run by a second `node` process: `ports` keep-alive HTTP servers on 127.0.0.1 that read the
 * body and answer 200 "ok" at once. On 2 cores the receiver gets its own core instead of competing with the
 * sender's event loop. It reports the number of requests it answered when asked over IPC.
 */
const RECEIVER_SOURCE = `
const http = require('node:http');
const ports = Number(process.argv[1]);
const blackHoles = Number(process.argv[2] || 0);
let count = 0;
let tracking = false;
let latencies = [];
const servers = [];
const onRequest = (req, res) => {
  const chunks = tracking ? [] : null;
  req.on('data', (c) => { if (chunks) chunks.push(c); });
  req.on('end', () => {
    count++;
    if (chunks) {
      try { latencies.push(Date.now() - Date.parse(JSON.parse(Buffer.concat(chunks).toString()).created_at)); } catch {}
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
};
// A black hole reads the request and never answers: the sender's deadline ends each attempt.
const onBlackHole = (req) => { req.on('data', () => {}); };
let listening = 0;
for (let i = 0; i < ports + blackHoles; i++) {
  const s = http.createServer({ keepAlive: true }, i < ports ? onRequest : onBlackHole);
  s.keepAliveTimeout = 60000;
  s.headersTimeout = 65000;
  s.requestTimeout = 0;
  s.maxRequestsPerSocket = 0;
  servers.push(s);
  s.listen(0, '127.0.0.1', () => {
    if (++listening === ports + blackHoles) process.send({ type: 'ready', ports: servers.map((x) => x.address().port) });
  });
}
process.on('message', (m) => {
  if (m && m.type === 'count') process.send({ type: 'count', id: m.id, count });
  if (m && m.type === 'track') { tracking = m.on; latencies = []; process.send({ type: 'count', id: m.id, count }); }
  if (m && m.type === 'latencies') { process.send({ type: 'latencies', id: m.id, latencies }); latencies = []; }
});
process.on('disconnect', () => process.exit(0));
`;

export interface ReceiverChild {
  /** One origin per port: http://127.0.0.1:<port> */
  origins: string[];
  /** Origins that accept requests and never answer. */
  blackHoles: string[];
  /** Start (or stop) recording, per request, receipt time minus the envelope's created_at. */
  track(on: boolean): Promise<void>;
  /** The latencies recorded since the last call (ms). */
  latencies(): Promise<number[]>;
  pid: number;
  /** Requests answered so far (all ports). */
  count(): Promise<number>;
  close(): Promise<void>;
}

export async function startReceiverChild(ports: number, blackHoles = 0): Promise<ReceiverChild> {
  const child: ChildProcess = spawn(process.execPath, ['-e', RECEIVER_SOURCE, String(ports), String(blackHoles)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, (n: never) => void>();
  let seq = 0;
  const ready = new Promise<number[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receiver child exited early (code ${code})`)));
    child.on('message', (m: { type: string; ports?: number[]; id?: number; count?: number; latencies?: number[] }) => {
      if (m.type === 'ready') resolve(m.ports!);
      if (m.type === 'count' || m.type === 'latencies') {
        pending.get(m.id!)?.((m.count ?? m.latencies) as never);
        pending.delete(m.id!);
      }
    });
  });
  const portList = await ready;
  child.removeAllListeners('exit');
  const ask = <T>(message: Record<string, unknown>) =>
    new Promise<T>((resolve) => {
      const id = ++seq;
      pending.set(id, resolve as (n: never) => void);
      child.send({ ...message, id });
    });
  const origins = portList.map((p) => `http://127.0.0.1:${p}`);
  return {
    origins: origins.slice(0, ports),
    blackHoles: origins.slice(ports),
    pid: child.pid!,
    count: () => ask<number>({ type: 'count' }),
    track: async (on: boolean) => void (await ask<number>({ type: 'track', on })),
    latencies: () => ask<number[]>({ type: 'latencies' }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/* ---------------- the app ---------------- */

export type Engine = 'sqlite' | 'postgres';

/**
 * Boots the real AppModule through the e2e helper. `sqlite` forces a fresh SQLite file even when
 * TEST_DATABASE_URL is set (the helper would otherwise pick PostgreSQL); `postgres` needs TEST_DATABASE_URL.
 */
export async function bootApp(engine: Engine, env: Env): Promise<TestApp> {
  if (engine === 'postgres') {
    if (!process.env.TEST_DATABASE_URL) throw new Error('postgres run needs TEST_DATABASE_URL');
    return createTestApp({ env });
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'od-bench-'));
  const app = await createTestApp({ env: { ...env, DATA_DIR: dataDir } });
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return app;
}

/** Write limits out of the way: the benchmark registers endpoints and creates uploads over the HTTP API. */
export const BENCH_RATE_LIMIT_ENV: Env = {
  RATE_LIMIT_PER_KEY: '1000000',
  RATE_LIMIT_PER_ORGANIZATION: '1000000',
};

/* ---------------- timing and printing ---------------- */

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * With BENCH_PROFILE=DIR, a CPU profile of `fn` alone (not the whole run with its setup and baselines) is written
 * to DIR/<label>.cpuprofile, for Chrome DevTools or `node --cpu-prof`-style analysis.
 */
export async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return fn();
  const { Session } = await import('node:inspector');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${label.replace(/\W+/g, '-')}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

export const perSecond = (n: number, ms: number) => (n * 1000) / ms;

export function fmtRate(r: number): string {
  return Math.round(r).toLocaleString('en-US');
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms).toLocaleString('en-US')} ms`;
}

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** A fixed-width table row: label, then columns. */
export function row(label: string, ...cols: string[]): string {
  return `  ${label.padEnd(50)}${cols.map((c) => c.padStart(14)).join('')}`;
}

export function header(title: string): void {
  console.log(`\n${title}`);
  console.log(`  node ${process.version}, pid ${process.pid}, ${new Date().toISOString()}`);
}

/** Collects verification failures; the script exits 1 if any were recorded. */
export class Checks {
  readonly failures: string[] = [];

  expect(ok: boolean, message: string): boolean {
    if (!ok) {
      this.failures.push(message);
      console.error(`  FAILED: ${message}`);
    }
    return ok;
  }

  report(): number {
    if (this.failures.length) {
      console.error(`\n${this.failures.length} check(s) failed: the figures above do not describe completed work.`);
      return 1;
    }
    return 0;
  }
}

/** The q-quantile (0..1) of `values`, nearest-rank. */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Peak resident set size of this process so far, in MB (the service runs in-process). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Samples the process's RSS every 20 ms while `fn` runs: the peak of one phase, not of the whole run (MiB). The
 * garbage of the setup before it is collected first when node runs with --expose-gc (npm run bench:deliveries).
 */
export async function phasePeakRssMb<T>(fn: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const value = await fn();
    return { value, peakMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** A figure next to its goal: `0.62 (goal >= 0.5: met)`. */
export function vsGoal(value: number, goal: number, direction: '>=' | '<=', digits = 2): string {
  const met = direction === '>=' ? value >= goal : value <= goal;
  return `${value.toFixed(digits)} (goal ${direction} ${goal}: ${met ? 'met' : 'MISSED'})`;
}

/** Runs a benchmark's main and exits with its code (1 on a crash, printed). */
export function runBench(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
