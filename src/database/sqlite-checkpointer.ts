import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { AppConfig } from '../config/app-config';

/** How often the background thread checkpoints the WAL (a pass with nothing new to copy costs microseconds). */
export const CHECKPOINT_INTERVAL_MS = 50;
/** How long shutdown waits for the thread to close its connection before it is terminated. */
const STOP_TIMEOUT_MS = 1_000;

/**
 * The thread's code. Its own connection to the same file; PASSIVE never waits for, nor blocks, the service's
 * readers and writer. `stop` closes the connection and ends the thread.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
let failed = false;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    if (!failed) parentPort.postMessage({ error: String(e && e.message || e) });
    failed = true;
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite only: copies the WAL back into the database file from a thread of its own, so that the fsyncs this
 * takes are not paid inside a commit on the event loop.
 *
 * With `synchronous = NORMAL` a commit only appends to the WAL; the cost is the checkpoint that SQLite runs
 * itself, inside the commit that crosses `wal_autocheckpoint` pages: it writes back every page the WAL holds
 * and fsyncs the file. On this project's machine that commit stalled the event loop for 120–170 ms about once
 * a second under a steady 200 events/s, and every attempt waiting on the loop inherited the stall. With this
 * thread checkpointing every CHECKPOINT_INTERVAL_MS, the commit that still crosses the threshold (only the
 * writer can restart the WAL, see data-source-options.ts) finds nearly everything written back and takes
 * 17–36 ms (bench/deliveries.bench.ts, latency scenario). Durability is unchanged: the same fsyncs happen,
 * on another thread.
 */
@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SqliteCheckpointer.name);
  private worker: Worker | null = null;

  constructor(private readonly config: AppConfig) {}

  /** After the migrations (module init), so the file exists and is in WAL mode. */
  onApplicationBootstrap(): void {
    if (this.config.databaseType !== 'better-sqlite3') return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file: this.config.sqlitePath, intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    // A failing thread only loses the head start: SQLite's own checkpoint in the commit remains.
    worker.on('message', (m: { error?: string }) => {
      if (m.error) this.logger.warn(`background WAL checkpoint failed (${m.error}); checkpoints stay in the committing thread`);
    });
    worker.on('error', (e) => this.logger.warn(`background WAL checkpoint thread ended: ${e.message}`));
    worker.unref();
    this.worker = worker;
  }

  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Whether the thread is running (for tests). */
  get running(): boolean {
    return this.worker !== null;
  }
}
