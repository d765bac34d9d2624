import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { HttpStatus, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryFailedError, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { ApiError } from '../common/api-error';
import { AppConfig } from '../config/app-config';
import { compile, CompiledSql, compileValues, Dialect, list, raw, Row, sql, SqlFragment } from './sql';

/** What `/health/ready` reports about the PostgreSQL pool (null on SQLite, which has one shared connection). */
export interface PoolStats {
  size: number;
  total: number;
  idle: number;
  waiting: number;
}

interface PgPool {
  options: { max: number };
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The part of better-sqlite3's API that `rowsPerBatch` uses (the driver's own connection). */
interface SqliteStatement {
  readonly reader: boolean;
  run(...values: unknown[]): unknown;
  all(...values: unknown[]): Row[];
}
interface SqliteConnection {
  prepare(text: string): SqliteStatement;
}

/** The part of a pg client that `runPrepared` uses. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/**
 * `prepared`: the statement's text is the same on every call (no `list()`); PostgreSQL then prepares it once per
 * connection (see `runPrepared`). Only inside a transaction (a manager with its query runner); ignored on SQLite.
 */
export interface RunOptions {
  prepared?: boolean;
}

/** Rows per multi-row statement on PostgreSQL: keeps every statement well under its 65,535-parameter limit. */
const ROWS_PER_STATEMENT = 250;

/** The open transaction's work, so a query that bypasses its manager can be caught (see `guardManagerUse`). */
const openTransaction = new AsyncLocalStorage<{ open: boolean }>();


/**
 * Transactions and the few engine differences the repositories need to know about.
 *
 * SQLite has one writer and TypeORM's better-sqlite3 driver shares one connection, so concurrent
 * `transaction()` calls would interleave on it; they are serialized here through a promise chain.
 * PostgreSQL transactions run concurrently on the pool.
 */
@Injectable()
export class DatabaseService implements OnModuleInit {
  private readonly logger = new Logger(DatabaseService.name);
  private sqliteChain: Promise<unknown> = Promise.resolve();
  readonly isPostgres: boolean;
  readonly dialect: Dialect;
  /** The tagged template of ./sql.ts, here so repositories need only this service: `db.sql\`… ${v} …\``. */
  readonly sql = sql;

  private readonly afterCommitCallbacks = new Map<QueryRunner, Array<() => void>>();

  constructor(
    @InjectDataSource() readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {
    this.isPostgres = dataSource.options.type === 'postgres';
    this.guardManagerUse();
    if (this.isPostgres) this.failFastOnExhaustedPool();
    this.dialect = this.isPostgres ? 'postgres' : 'sqlite';
    // Works for any transaction on this DataSource, including ones a host application opens itself.
    const callbacks = this.afterCommitCallbacks;
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit(event: TransactionCommitEvent) {
        const fns = callbacks.get(event.queryRunner);
        callbacks.delete(event.queryRunner);
        fns?.forEach((fn) => fn());
      },
      afterTransactionRollback(event: TransactionRollbackEvent) {
        callbacks.delete(event.queryRunner);
      },
    };
    dataSource.subscribers.push(subscriber);
  }

  /** Runs `fn` once the transaction `manager` belongs to commits (at once when there is none); never on rollback. */
  afterCommit(manager: EntityManager, fn: () => void): void {
    const qr = manager.queryRunner;
    if (!qr || !qr.isTransactionActive) {
      setImmediate(fn);
      return;
    }
    const list = this.afterCommitCallbacks.get(qr);
    if (list) list.push(fn);
    else this.afterCommitCallbacks.set(qr, [fn]);
  }

  async onModuleInit(): Promise<void> {
    await runMigrationsLocked(this.dataSource, this.logger);
  }

  /**
   * Every write goes through here. On SQLite this is also what keeps writes from different requests apart:
   * a statement issued outside the chain would run inside whichever transaction is open on the shared
   * connection, and be rolled back with it. Never call it from inside another transaction (it would wait
   * for itself).
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (openTransaction.getStore()?.open) {
      // A second transaction opened from inside one: on SQLite it would wait for the first forever (one chain);
      // on PostgreSQL it takes a second pooled connection — the issue 17 outage.
      const error = this.misuse('db.transaction() called inside an open transaction (pass its EntityManager instead)', !this.isPostgres);
      if (error) return Promise.reject(error);
    }
    const tracked = (m: EntityManager) => {
      const store = { open: true };
      return openTransaction.run(store, () => work(m).finally(() => (store.open = false)));
    };
    if (this.isPostgres) return this.dataSource.transaction(tracked);
    const run = this.sqliteChain.then(() => this.dataSource.transaction(tracked));
    this.sqliteChain = run.catch(() => undefined);
    return run;
  }

  /** The PostgreSQL pool's occupancy; `waiting` > 0 for long means requests queue for connections. */
  poolStats(): PoolStats | null {
    if (!this.isPostgres) return null;
    const pool = (this.dataSource.driver as unknown as { master?: PgPool }).master;
    if (!pool) return null;
    return { size: pool.options.max, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }

  /**
   * Issue 17: inside `transaction()`, every statement must go through the transaction's manager. A repository
   * call without it takes a second connection — on PostgreSQL, enough concurrent transactions then hold the whole
   * pool while each waits for one more, and the service hangs; on SQLite the statement escapes the write chain.
   * Every query TypeORM runs without a manager starts by creating a query runner, so that is where the mistake
   * shows: the test suites (NODE_ENV=test) fail on it; elsewhere it is logged, once per call site.
   */
  private guardManagerUse(): void {
    const create = this.dataSource.createQueryRunner.bind(this.dataSource);
    this.dataSource.createQueryRunner = (mode) => {
      if (openTransaction.getStore()?.open) {
        const error = this.misuse('a query ran outside the open transaction (pass its EntityManager to every call inside db.transaction)');
        if (error) throw error;
      }
      return create(mode);
    };
  }

  private readonly reportedMisuse = new Set<string>();

  /** The error to throw (under NODE_ENV=test, or when `fatal`); otherwise null after logging it once per call site. */
  private misuse(message: string, fatal = false): Error | null {
    const error = new Error(message);
    if (fatal || this.config.nodeEnv === 'test') return error;
    const site = error.stack?.split('\n').slice(2, 5).join(' | ') ?? '';
    if (!this.reportedMisuse.has(site)) {
      this.reportedMisuse.add(site);
      this.logger.error({ stack: error.stack }, message);
    }
    return null;
  }

  /** An exhausted pool answers 503 in the envelope after DB_POOL_ACQUIRE_TIMEOUT_MS, with a log line, instead of hanging. */
  private failFastOnExhaustedPool(): void {
    const driver = this.dataSource.driver as unknown as { obtainMasterConnection(): Promise<unknown> };
    const obtain = driver.obtainMasterConnection.bind(driver);
    driver.obtainMasterConnection = () =>
      obtain().catch((e: Error) => {
        if (!/timeout exceeded when trying to connect/i.test(e?.message ?? '')) throw e;
        const stats = this.poolStats();
        this.logger.error(
          `no database connection within ${this.config.dbPoolAcquireTimeoutMs} ms (pool ${stats?.total}/${stats?.size} in use, ${stats?.waiting} waiting)`,
        );
        throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE, {
          error: 'database_unavailable',
          message: 'The database is not answering in time; retry shortly',
        });
      });
  }

  compile(fragment: SqlFragment): CompiledSql {
    return compile(this.dialect, fragment);
  }

  /**
   * Runs a statement built with `sql` and returns its rows (a SELECT, or a write with RETURNING). Inside a
   * transaction pass its manager: every read and write of the transaction must go through it (on PostgreSQL
   * another pool connection would wait on this transaction's locks). On SQLite the driver keeps prepared
   * statements by text, so a statement is prepared once.
   */
  async rows(manager: EntityManager | null, fragment: SqlFragment, opts: RunOptions = {}): Promise<Row[]> {
    return (await this.run(manager, fragment, opts)).records ?? [];
  }

  /** Runs a write built with `sql`; returns the number of rows it changed. */
  async execute(manager: EntityManager | null, fragment: SqlFragment): Promise<number> {
    return (await this.run(manager, fragment)).affected ?? 0;
  }

  /**
   * A statement over many rows (an INSERT or UPDATE … FROM over `rowsOf()`), run in the cheapest shape for
   * each engine, in `manager`'s transaction; returns every RETURNING row. `statement(part)` builds the statement for
   * one part of `items`:
   * - PostgreSQL: parts of up to ROWS_PER_STATEMENT rows, one round trip each (and well under its parameter limit);
   * - SQLite: one row per part, so the text never changes, and its one prepared statement runs per row straight on
   *   the driver's connection (which every transaction shares; see `transaction`). There is no round trip to save,
   *   one row at a time beat one 16-row INSERT, and skipping TypeORM's per-query work (logging, which is off, query
   *   events, two awaits) took `publishMany` from 2,442–2,602 to 3,250–3,349 events/s (bench/deliveries.bench.ts).
   */
  async rowsPerBatch<T>(manager: EntityManager, items: readonly T[], statement: (part: readonly T[]) => SqlFragment): Promise<Row[]> {
    if (!this.isPostgres) return this.sqliteRowByRow(items, statement);
    const out: Row[] = [];
    for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) {
      const rows = await this.rows(manager, statement(items.slice(i, i + ROWS_PER_STATEMENT)), { prepared: true });
      for (const r of rows) out.push(r);
    }
    return out;
  }

  /** Prepared one-row statements by text: one per `rowsPerBatch` call site. */
  private readonly sqliteStatements = new Map<string, SqliteStatement>();

  /**
   * A row whose statement has the previous row's shape (the same template and as many values) reuses its text and
   * prepared statement and only collects its values: `compileValues` costs a quarter of `compile`, which the
   * 16-column delivery insert paid per row. Any other row is compiled in full. (Texts that differ only inside a
   * `raw()` would not be told apart: a `rowsPerBatch` statement keeps its raw text the same for every row.)
   */
  private sqliteRowByRow<T>(items: readonly T[], statement: (part: readonly T[]) => SqlFragment): Row[] {
    const out: Row[] = [];
    // the statement of the row before: its template, its number of values, its text and its prepared statement
    let last: { strings: SqlFragment['strings']; count: number; text: string; prepared: SqliteStatement } | undefined;
    for (const item of items) {
      const fragment = statement([item]);
      let values = last?.strings === fragment.strings ? compileValues(this.dialect, fragment) : undefined;
      if (!last || values?.length !== last.count) {
        const compiled = this.compile(fragment);
        values = compiled.values;
        last = { strings: fragment.strings, count: values.length, text: compiled.text, prepared: this.sqliteStatement(compiled.text) };
      }
      const { text, prepared } = last;
      try {
        if (!prepared.reader) prepared.run(...values);
        else for (const r of prepared.all(...values)) out.push(r);
      } catch (e) {
        throw new QueryFailedError(text, values, e as Error);
      }
    }
    return out;
  }

  private sqliteStatement(text: string): SqliteStatement {
    let prepared = this.sqliteStatements.get(text);
    if (!prepared) {
      if (this.sqliteStatements.size >= 100) this.sqliteStatements.clear();
      prepared = (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection.prepare(text);
      this.sqliteStatements.set(text, prepared);
    }
    return prepared;
  }

  private async run(manager: EntityManager | null, fragment: SqlFragment, opts: RunOptions = {}): Promise<{ records?: Row[]; affected?: number }> {
    const { text, values } = this.compile(fragment);
    const qr = manager?.queryRunner;
    if (opts.prepared && this.isPostgres && qr) return this.runPrepared(qr, text, values);
    if (qr) return qr.query(text, values, true);
    const own = this.dataSource.createQueryRunner();
    try {
      return await own.query(text, values, true);
    } finally {
      await own.release();
    }
  }

  /** Statement names by text (a short hash: one per hot statement, each prepared once per pooled connection). */
  private readonly statementNames = new Map<string, string>();

  /**
   * PostgreSQL: the statement as a named prepared statement of the transaction's connection, so the server parses
   * it once per connection, not on every call, and may keep its plan (the claim took 1.8 ms to plan). Errors are
   * `QueryFailedError`s, as through TypeORM.
   */
  private async runPrepared(qr: QueryRunner, text: string, values: unknown[]): Promise<{ records: Row[]; affected: number }> {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `od_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.statementNames.set(text, name);
    }
    const client = (await qr.connect()) as PgClient;
    try {
      const r = await client.query({ name, text, values });
      return { records: r.rows, affected: r.rowCount ?? 0 };
    } catch (e) {
      throw new QueryFailedError(text, values, e as Error);
    }
  }

  /** `FOR UPDATE OF <alias> SKIP LOCKED` on PostgreSQL (concurrent claimers); nothing on SQLite (one writer). */
  skipLocked(alias: string): SqlFragment {
    return this.isPostgres ? sql([` FOR UPDATE OF ${alias} SKIP LOCKED`]) : sql``;
  }

  /**
   * PostgreSQL: locks these rows of `table` (a trusted name) in id order, for the rest of `manager`'s transaction,
   * so that transactions updating the same rows in one statement (whose plan locks in its own order) cannot
   * deadlock. Nothing on SQLite, which has one writer.
   */
  async lockInIdOrder(manager: EntityManager, table: string, ids: readonly string[]): Promise<void> {
    if (!this.isPostgres || !ids.length) return;
    await this.rows(manager, sql`SELECT id FROM ${raw(table)} WHERE id IN (${list(ids)}) ORDER BY id FOR UPDATE`);
  }

  /**
   * For the rest of `manager`'s transaction, PostgreSQL plans with index scans only (nothing on SQLite: no table
   * there is ever ANALYZEd, and its planner walks the index on its own). For a queue table's claim: the table
   * fills and drains faster than autovacuum re-analyzes it, and from statistics taken while it was nearly empty
   * the planner reads and sorts every due row (42 ms for one claim among 60,000 due rows) instead of walking the
   * due index to its limit (1.8 ms). Measured with bench/deliveries.bench.ts on PostgreSQL 15.
   */
  async indexScansOnly(manager: EntityManager): Promise<void> {
    if (this.isPostgres) await manager.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
  }

  async migrationsPending(): Promise<boolean> {
    return this.dataSource.showMigrations();
  }
}

/**
 * Runs pending migrations; on PostgreSQL under an advisory lock so instances starting together do not race.
 */
export async function runMigrationsLocked(dataSource: DataSource, logger?: Logger): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    const done = await dataSource.runMigrations({ transaction: 'each' });
    if (done.length) logger?.log(`applied ${done.length} migration(s): ${done.map((m) => m.name).join(', ')}`);
    return;
  }
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(72707369)');
    const done = await dataSource.runMigrations({ transaction: 'each' });
    if (done.length) logger?.log(`applied ${done.length} migration(s): ${done.map((m) => m.name).join(', ')}`);
  } finally {
    await lock.query('SELECT pg_advisory_unlock(72707369)').catch(() => undefined);
    await lock.release();
  }
}
