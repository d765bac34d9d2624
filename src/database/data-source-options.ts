import { mkdirSync } from 'node:fs';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { migrationsFor } from './migrations';

/**
 * One definition of the connection for the service, the CLI and the TypeORM CLI (ormconfig.ts).
 * Entities are registered by each feature module (TypeOrmModule.forFeature + autoLoadEntities), so this
 * module does not depend on the features.
 */
export function dataSourceOptions(config: AppConfig, entities: DataSourceOptions['entities'] = []): DataSourceOptions {
  const common = {
    entities,
    migrations: migrationsFor(config.secretsEncryptionKey),
    migrationsRun: false,
    synchronize: false,
    logging: false,
  } as const;
  if (config.databaseType === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: config.databaseUrl!,
      extra: {
        max: config.dbPoolSize,
        // pg-pool applies this to waiting for a free pooled client too: an exhausted pool fails fast (503) instead of hanging
        connectionTimeoutMillis: config.dbPoolAcquireTimeoutMs,
        ...(config.dbStatementTimeoutMs > 0 ? { statement_timeout: config.dbStatementTimeoutMs } : {}),
      },
    };
  }
  mkdirSync(config.dataDir, { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.sqlitePath,
    // Statements with `IN (…)` lists and the endpoint bookkeeping's rows differ by count (one text per size): keep
    // them all prepared instead of re-preparing past TypeORM's default of 100.
    statementCacheSize: 1000,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 10000');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      // With NORMAL, only a checkpoint syncs to disk. Every 10,000 pages (~40 MB of WAL) instead of SQLite's 1,000:
      // the delivery tables rewrite the same hot index pages in every commit, and a checkpoint copies each page once
      // however often it was rewritten (bench/deliveries.bench.ts: publish ~20 % faster). SqliteCheckpointer does the
      // copying from a thread of its own; the commit crossing this threshold still checkpoints what is left, because
      // only the writer can restart the WAL from its beginning, and a WAL that never restarts grows without bound.
      db.pragma('wal_autocheckpoint = 10000');
    },
  };
}
