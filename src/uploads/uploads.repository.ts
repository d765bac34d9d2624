import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, EntityManager, Repository } from 'typeorm';
import { CursorPosition } from '../common/cursor';
import { joinOrOwn } from '../common/transactions';
import { DatabaseService } from '../database/database.service';
import { CANCELLABLE, Upload, UploadStatus } from './upload.entity';

@Injectable()
export class UploadsRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(Upload) private readonly uploads: Repository<Upload>,
  ) {}

  private repo(manager?: EntityManager): Repository<Upload> {
    return manager?.getRepository(Upload) ?? this.uploads;
  }

  async insert(upload: Upload, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => this.repo(m).insert(upload));
  }

  findForOrganization(organizationId: string, id: string, manager?: EntityManager): Promise<Upload | null> {
    return this.repo(manager).findOneBy({ id, organizationId });
  }

  findById(id: string, manager?: EntityManager): Promise<Upload | null> {
    return this.repo(manager).findOneBy({ id });
  }

  /** The per-request webhook's secret and its URL's user info, both encrypted (never selected by default). */
  async findWebhookSecrets(id: string): Promise<{ secretEncrypted: string | null; credentialsEncrypted: string | null }> {
    const row = await this.uploads
      .createQueryBuilder('u')
      .select(['u.id', 'u.webhookSecretEncrypted', 'u.webhookCredentialsEncrypted'])
      .where('u.id = :id', { id })
      .getOne();
    return { secretEncrypted: row?.webhookSecretEncrypted ?? null, credentialsEncrypted: row?.webhookCredentialsEncrypted ?? null };
  }

  list(filter: { organizationId: string; status?: UploadStatus; cursor: CursorPosition | null; limit: number }): Promise<Upload[]> {
    const qb = this.uploads.createQueryBuilder('u').where('u.organization_id = :org', { org: filter.organizationId });
    if (filter.status) qb.andWhere('u.status = :st', { st: filter.status });
    if (filter.cursor) {
      const c = filter.cursor;
      qb.andWhere(new Brackets((w) => w.where('u.created_at < :cts', { cts: c.createdAtMs }).orWhere('u.created_at = :cts AND u.id < :cid', { cid: c.id })));
    }
    return qb.orderBy('u.created_at', 'DESC').addOrderBy('u.id', 'DESC').limit(filter.limit + 1).getMany();
  }

  /** Valid rows the organization had accepted (charged) since `since`, for the daily limit; cancelled uploads excluded. */
  async acceptedRowsSince(organizationId: string, since: Date, manager?: EntityManager): Promise<number> {
    const r = await this.repo(manager)
      .createQueryBuilder('u')
      .select('COALESCE(SUM(u.valid_row_count), 0)', 'n')
      .where("u.organization_id = :org AND u.created_at >= :since AND u.status NOT IN ('cancelled', 'validation_failed', 'pending_mapping', 'validating', 'awaiting_confirmation')", {
        org: organizationId,
        since: since.getTime(),
      })
      .getRawOne<{ n: string | number }>();
    return Number(r?.n ?? 0);
  }

  /** Conditional state change: only from one of `from`. Returns whether this call won. */
  async transition(id: string, from: UploadStatus[], patch: Partial<Upload>, manager?: EntityManager): Promise<boolean> {
    const r = await joinOrOwn(this.db, manager, (m) => this.repo(m).createQueryBuilder().update().set(patch).where('id = :id AND status IN (:...from)', { id, from }).execute());
    return (r.affected ?? 0) === 1;
  }

  cancel(id: string, patch: Partial<Upload>, manager?: EntityManager): Promise<boolean> {
    return this.transition(id, CANCELLABLE, patch, manager);
  }

  /**
   * Claims the oldest upload ready for processing (or one whose processing lease expired: a crashed run).
   * Daily-limit uploads created today wait for the next UTC day. PostgreSQL locks with SKIP LOCKED.
   */
  async claimNext(opts: { now: number; startOfDay: number; leaseMs: number; token: string }): Promise<Upload | null> {
    const { sql } = this.db;
    const statement = sql`UPDATE uploads SET status = 'processing', locked_until = ${opts.now + opts.leaseMs}, locked_by = ${opts.token}, updated_at = ${opts.now},
      processing_started_at = COALESCE(processing_started_at, ${opts.now})
      WHERE id = (SELECT u.id FROM uploads u
        WHERE ((u.status = 'ready_for_processing' AND NOT (u.exceeded_daily_limit = ${true} AND u.created_at >= ${opts.startOfDay})) OR (u.status = 'processing' AND u.locked_until < ${opts.now}))
        ORDER BY u.created_at, u.id LIMIT 1${this.db.skipLocked('u')})
      RETURNING id`;
    const rows = await this.db.transaction((m) => this.db.rows(m, statement));
    if (!rows.length) return null;
    return this.findById(rows[0].id as string);
  }

  /** Finishing write of a processing run; only while this run still holds the lease. */
  async finish(id: string, token: string, patch: Partial<Upload>, manager?: EntityManager): Promise<boolean> {
    const r = await joinOrOwn(this.db, manager, (m) =>
      this.repo(m)
        .createQueryBuilder()
        .update()
        .set({ ...patch, lockedUntil: null, lockedBy: null })
        .where("id = :id AND status = 'processing' AND locked_by = :token", { id, token })
        .execute(),
    );
    return (r.affected ?? 0) === 1;
  }

  async releaseLease(token: string, now: number): Promise<void> {
    await this.db.transaction((m) =>
      m
        .createQueryBuilder()
        .update(Upload)
        .set({ status: 'ready_for_processing', lockedUntil: null, lockedBy: null, updatedAt: new Date(now) })
        .where("status = 'processing' AND locked_by = :token", { token })
        .execute(),
    );
  }

  async extendLease(id: string, token: string, until: number): Promise<void> {
    await this.db.transaction((m) =>
      m.createQueryBuilder().update(Upload).set({ lockedUntil: new Date(until) }).where('id = :id AND locked_by = :token', { id, token }).execute(),
    );
  }
}
