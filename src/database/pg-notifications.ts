import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from './database.service';

/**
 * Cross-instance wake-ups over PostgreSQL LISTEN/NOTIFY (SPEC §9). One dedicated connection per instance listens;
 * notifying goes through the pool. Notifications are hints — the processors' scheduled ticks stay the backstop —
 * so a lost connection is re-established with backoff and nothing else depends on it. A no-op on SQLite.
 */
@Injectable()
export class PgNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger(PgNotifications.name);
  private readonly handlers = new Map<string, Array<(payload: string) => void>>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private readonly pendingNotify = new Set<string>();

  constructor(
    private readonly db: DatabaseService,
    private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.db.isPostgres;
  }

  /** Calls `fn` for every notification on `channel`, from any instance (this one included). */
  async listen(channel: string, fn: (payload: string) => void): Promise<void> {
    if (!this.enabled) return;
    const list = this.handlers.get(channel);
    if (list) list.push(fn);
    else this.handlers.set(channel, [fn]);
    await this.connect();
    await this.client?.query(`LISTEN ${quoteIdent(channel)}`).catch(() => undefined);
  }

  /** Coalesced: any number of calls within one tick send one NOTIFY per channel. */
  notify(channel: string): void {
    if (!this.enabled || this.closed || this.pendingNotify.has(channel)) return;
    this.pendingNotify.add(channel);
    setImmediate(() => {
      this.pendingNotify.delete(channel);
      if (this.closed) return;
      this.db.dataSource.query('SELECT pg_notify($1, $2)', [channel, '']).catch((e) => this.logger.warn(`NOTIFY ${channel} failed: ${(e as Error).message}`));
    });
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.config.databaseUrl! });
      client.on('notification', (msg) => this.handlers.get(msg.channel)?.forEach((fn) => fn(msg.payload ?? '')));
      client.on('error', (e) => {
        this.logger.warn(`LISTEN connection lost (${e.message}); reconnecting`);
        this.client = null;
        client.end().catch(() => undefined);
        setTimeout(() => void this.reconnect(), 1000).unref();
      });
      await client.connect();
      this.client = client;
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.connect();
      for (const channel of this.handlers.keys()) await this.client?.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (e) {
      this.client = null;
      setTimeout(() => void this.reconnect(), 2000).unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid channel name ${name}`);
  return name;
}
