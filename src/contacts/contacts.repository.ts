import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, EntityManager, In, Repository } from 'typeorm';
import { CursorPosition } from '../common/cursor';
import { DatabaseService } from '../database/database.service';
import { list, raw, SqlValue } from '../database/sql';
import { Contact, ContactStatus } from './contact.entity';

/** What a finished classification writes (SPEC §11.5). */
export interface ContactOutcome {
  status: 'completed' | 'failed';
  optimaldialStatus: string | null;
  lineType: string | null;
  errorMessage: string | null;
}

const INSERT_COLUMNS: Array<[string, (c: Contact) => unknown]> = [
  ['id', (c) => c.id],
  ['organization_id', (c) => c.organizationId],
  ['user_id', (c) => c.userId],
  ['api_key_id', (c) => c.apiKeyId],
  ['phone', (c) => c.phone],
  ['properties', (c) => JSON.stringify(c.properties)],
  ['status', (c) => c.status],
  ['credits_charged', (c) => c.creditsCharged],
  ['callback_url', (c) => c.callbackUrl],
  ['callback_secret_encrypted', (c) => c.callbackSecretEncrypted],
  ['callback_credentials_encrypted', (c) => c.callbackCredentialsEncrypted],
  ['idempotency_key', (c) => c.idempotencyKey],
  ['request_hash', (c) => c.requestHash],
  ['created_at', (c) => c.createdAt.getTime()],
  ['updated_at', (c) => c.updatedAt.getTime()],
];

@Injectable()
export class ContactsRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(Contact) private readonly contacts: Repository<Contact>,
  ) {}

  /**
   * Inserts the row unless its idempotency key is already taken in the organization for this API key; the unique
   * index decides (on PostgreSQL a racing insert of the same key waits for the other transaction's outcome).
   * Returns whether this call inserted it.
   */
  async insertUnlessDuplicate(manager: EntityManager, contact: Contact): Promise<boolean> {
    const columns = raw(INSERT_COLUMNS.map(([c]) => c).join(', '));
    const values = INSERT_COLUMNS.map(([, get]) => get(contact) as SqlValue);
    const rows = await this.db.rows(manager, this.db.sql`INSERT INTO contacts (${columns}) VALUES (${list(values)}) ON CONFLICT DO NOTHING RETURNING id`);
    return rows.length === 1;
  }

  findForOrganization(organizationId: string, id: string): Promise<Contact | null> {
    return this.contacts.findOneBy({ id, organizationId });
  }

  /** The contact a key already created, with the hash of the body that created it. */
  findByIdempotencyKey(organizationId: string, apiKeyId: string, idempotencyKey: string): Promise<Contact | null> {
    return this.contacts
      .createQueryBuilder('c')
      .addSelect('c.requestHash')
      .where('c.organization_id = :org AND c.api_key_id = :key AND c.idempotency_key = :idem', { org: organizationId, key: apiKeyId, idem: idempotencyKey })
      .getOne();
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  list(filter: { organizationId: string; status?: ContactStatus; cursor: CursorPosition | null; limit: number }): Promise<Contact[]> {
    const qb = this.contacts.createQueryBuilder('c').where('c.organization_id = :org', { org: filter.organizationId });
    if (filter.status) qb.andWhere('c.status = :st', { st: filter.status });
    if (filter.cursor) {
      const c = filter.cursor;
      qb.andWhere(new Brackets((w) => w.where('c.created_at < :cts', { cts: c.createdAtMs }).orWhere('c.created_at = :cts AND c.id < :cid', { cid: c.id })));
    }
    return qb.orderBy('c.created_at', 'DESC').addOrderBy('c.id', 'DESC').limit(filter.limit + 1).getMany();
  }

  /** queued → discarded, only while queued: racing the processor's claim, exactly one of them changes the row. */
  async discardIfQueued(manager: EntityManager, id: string, now: Date): Promise<boolean> {
    const r = await manager
      .createQueryBuilder()
      .update(Contact)
      .set({ status: 'discarded', updatedAt: now })
      .where("id = :id AND status = 'queued'", { id })
      .execute();
    return (r.affected ?? 0) === 1;
  }

  /**
   * Claims up to `limit` contacts, oldest first: queued ones, and ones whose processing lease expired (a crashed
   * worker). PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers never claim the same row; SQLite has one
   * writer. Returns the claimed rows with their callback secrets.
   */
  async claimBatch(opts: { now: number; limit: number; leaseMs: number; token: string }): Promise<Contact[]> {
    const { sql } = this.db;
    const statement = sql`UPDATE contacts SET status = 'processing', locked_until = ${opts.now + opts.leaseMs}, locked_by = ${opts.token}, updated_at = ${opts.now}
      WHERE id IN (SELECT c.id FROM contacts c WHERE c.status = 'queued' OR (c.status = 'processing' AND c.locked_until < ${opts.now})
        ORDER BY c.created_at, c.id LIMIT ${opts.limit}${this.db.skipLocked('c')}) RETURNING id`;
    const ids = (await this.db.transaction((m) => this.db.rows(m, statement))).map((r) => r.id as string);
    if (!ids.length) return [];
    const rows = await this.contacts
      .createQueryBuilder('c')
      .addSelect('c.callbackSecretEncrypted')
      .addSelect('c.callbackCredentialsEncrypted')
      .where({ id: In(ids) })
      .andWhere('c.locked_by = :token', { token: opts.token })
      .orderBy('c.created_at', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
    return rows;
  }

  /**
   * The finishing write of a batch, in the caller's transaction: one UPDATE per distinct outcome (a batch has a
   * handful: the classifier's statuses × line types, plus each failure), each only for rows this worker still
   * holds. Returns the ids that were finished here; the others were taken over after a lease expiry.
   */
  async finishBatch(manager: EntityManager, token: string, items: Array<{ id: string; outcome: ContactOutcome }>, now: Date): Promise<Set<string>> {
    const groups = new Map<string, { outcome: ContactOutcome; ids: string[] }>();
    for (const it of items) {
      const k = JSON.stringify([it.outcome.status, it.outcome.optimaldialStatus, it.outcome.lineType, it.outcome.errorMessage]);
      const g = groups.get(k);
      if (g) g.ids.push(it.id);
      else groups.set(k, { outcome: it.outcome, ids: [it.id] });
    }
    const applied = new Set<string>();
    const { sql } = this.db;
    for (const { outcome, ids } of groups.values()) {
      for (let i = 0; i < ids.length; i += 500) {
        const statement = sql`UPDATE contacts SET status = ${outcome.status}, optimaldial_status = ${outcome.optimaldialStatus}, line_type = ${outcome.lineType},
          error_message = ${outcome.errorMessage}, completed_at = ${now.getTime()}, updated_at = ${now.getTime()}, locked_until = NULL, locked_by = NULL
          WHERE status = 'processing' AND locked_by = ${token} AND id IN (${list(ids.slice(i, i + 500))}) RETURNING id`;
        for (const r of await this.db.rows(manager, statement)) applied.add(r.id as string);
      }
    }
    return applied;
  }

  async extendLease(token: string, until: number): Promise<void> {
    await this.db.transaction((m) =>
      m.createQueryBuilder().update(Contact).set({ lockedUntil: new Date(until) }).where("status = 'processing' AND locked_by = :token", { token }).execute(),
    );
  }

  /** Graceful shutdown: this worker's unfinished claims go back to the queue at once. */
  async releaseLease(token: string, now: number): Promise<void> {
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .update(Contact)
        .set({ status: 'queued', lockedUntil: null, lockedBy: null, updatedAt: new Date(now) })
        .where("status = 'processing' AND locked_by = :token", { token })
        .execute(),
    );
  }
}
