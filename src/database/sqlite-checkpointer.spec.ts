import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { CHECKPOINT_INTERVAL_MS, SqliteCheckpointer } from './sqlite-checkpointer';

/**
 * The WAL's frames and how many of them are already copied back into the database file, read from the wal-index
 * (the -shm file: mxFrame in the header at byte 16, nBackfill in the checkpoint info at byte 96), so that the
 * test looks without checkpointing anything itself.
 */
function walState(file: string): { frames: number; backfilled: number } {
  const shm = readFileSync(`${file}-shm`);
  return { frames: shm.readUInt32LE(16), backfilled: shm.readUInt32LE(96) };
}

interface SqliteHandle {
  pragma(sql: string): unknown;
  exec(sql: string): void;
  prepare(sql: string): { run(...values: unknown[]): unknown };
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no type declarations
const openSqlite = (file: string): SqliteHandle => new (require('better-sqlite3'))(file);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SqliteCheckpointer', () => {
  let dir: string;
  let file: string;
  let db: SqliteHandle;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'od-ckpt-'));
    file = join(dir, 'x.sqlite');
    db = openSqlite(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 10000');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run('x'.repeat(500));
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (databaseType: AppConfig['databaseType']) => ({ databaseType, sqlitePath: file }) as AppConfig;

  it('copies the WAL back into the database file from its own thread, and stops with the application', async () => {
    expect(walState(file).backfilled).toBe(0);
    const checkpointer = new SqliteCheckpointer(config('better-sqlite3'));
    checkpointer.onApplicationBootstrap();
    let state = walState(file);
    for (let waited = 0; state.backfilled < state.frames && waited < 5000; waited += 20) {
      await sleep(20);
      state = walState(file);
    }
    expect(state.frames).toBeGreaterThan(0);
    expect(state.backfilled).toBe(state.frames);
    await checkpointer.onApplicationShutdown();
    expect(checkpointer.running).toBe(false);
    // stopped: new frames stay in the WAL
    db.prepare('INSERT INTO t (body) VALUES (?)').run('after');
    await sleep(CHECKPOINT_INTERVAL_MS * 4);
    const after = walState(file);
    expect(after.backfilled).toBeLessThan(after.frames);
  });

  it('does nothing on PostgreSQL', async () => {
    const checkpointer = new SqliteCheckpointer(config('postgres'));
    checkpointer.onApplicationBootstrap();
    expect(checkpointer.running).toBe(false);
    await sleep(CHECKPOINT_INTERVAL_MS * 4);
    expect(walState(file).backfilled).toBe(0);
    await checkpointer.onApplicationShutdown();
  });
});
