import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { compile, CompiledSql, Dialect, Row, sql, SqlFragment } from './sql';

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

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.isPostgres = dataSource.options.type === 'postgres';
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
    if (this.isPostgres) return this.dataSource.transaction(work);
    const run = this.sqliteChain.then(() => this.dataSource.transaction(work));
    this.sqliteChain = run.catch(() => undefined);
    return run;
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
  async rows(manager: EntityManager | null, fragment: SqlFragment): Promise<Row[]> {
    return (await this.run(manager, fragment)).records ?? [];
  }

  /** Runs a write built with `sql`; returns the number of rows it changed. */
  async execute(manager: EntityManager | null, fragment: SqlFragment): Promise<number> {
    return (await this.run(manager, fragment)).affected ?? 0;
  }

  private async run(manager: EntityManager | null, fragment: SqlFragment): Promise<{ records?: Row[]; affected?: number }> {
    const { text, values } = this.compile(fragment);
    const qr = manager?.queryRunner;
    if (qr) return qr.query(text, values, true);
    const own = this.dataSource.createQueryRunner();
    try {
      return await own.query(text, values, true);
    } finally {
      await own.release();
    }
  }

  /** `FOR UPDATE OF <alias> SKIP LOCKED` on PostgreSQL (concurrent claimers); nothing on SQLite (one writer). */
  skipLocked(alias: string): SqlFragment {
    return this.isPostgres ? sql([` FOR UPDATE OF ${alias} SKIP LOCKED`]) : sql``;
  }

  /** Positional placeholder for raw SQL: `$1` on PostgreSQL, `?` on SQLite. */
  param(index: number): string {
    return this.isPostgres ? `$${index}` : '?';
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
