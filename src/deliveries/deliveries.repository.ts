import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, EntityManager, In, Repository } from 'typeorm';
import { CursorPosition } from '../common/cursor';
import { DatabaseService } from '../database/database.service';
import { DeliveryAttempt } from './delivery-attempt.entity';
import { Delivery, DeliveryStatus } from './delivery.entity';
import { Event } from './event.entity';

/** A claimed delivery: what the sender needs, straight from the claim statement. */
export interface ClaimedDelivery {
  id: string;
  organizationId: string;
  eventId: string;
  eventType: string;
  webhookEndpointId: string | null;
  targetUrl: string;
  targetSecretEncrypted: string | null;
  attemptCount: number;
  createdAtMs: number;
  /** When the attempt became due (for a first attempt: the event, or the event plus a per-request delay). */
  dueAtMs: number;
}

/** The outcome of one attempt, as recorded in a batch. */
export interface AttemptOutcome {
  deliveryId: string;
  claimToken: string;
  attempt: DeliveryAttempt;
  /** delivered | pending (with nextRetryAt) | exhausted */
  status: DeliveryStatus;
  nextRetryAt: Date | null;
  /** Where the attempt went: an endpoint's URL may have changed since the delivery was created. */
  targetUrl?: string;
}

const num = (v: unknown) => (v == null ? null : Number(v));

@Injectable()
export class DeliveriesRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(Delivery) private readonly deliveries: Repository<Delivery>,
    @InjectRepository(DeliveryAttempt) private readonly attempts: Repository<DeliveryAttempt>,
    @InjectRepository(Event) private readonly events: Repository<Event>,
  ) {}

  // updateEntity(false): every column is set here, so TypeORM's read-back SELECT after each insert is pure cost
  // on the outbox's hot path.
  async insertEvent(manager: EntityManager, event: Event): Promise<void> {
    await manager.createQueryBuilder().insert().into(Event).values(event).updateEntity(false).execute();
  }

  async insertDeliveries(manager: EntityManager, rows: Delivery[]): Promise<void> {
    if (rows.length) await manager.createQueryBuilder().insert().into(Delivery).values(rows).updateEntity(false).execute();
  }

  /**
   * Atomically moves up to `limit` due deliveries to `in_flight` under a lease and returns them.
   * - due: pending, next_retry_at <= now, and (per-request target, or endpoint active): inactive endpoints hold theirs.
   * - the per-endpoint bound holds across workers: rows already in flight for an endpoint count against it.
   * PostgreSQL: candidates are locked with FOR UPDATE SKIP LOCKED so concurrent claimers never take the same row.
   * SQLite: one UPDATE … RETURNING statement (SQLite has a single writer).
   */
  async claimDue(opts: { now: number; limit: number; leaseMs: number; token: string; perEndpoint: number }): Promise<ClaimedDelivery[]> {
    const pg = this.db.isPostgres;
    const p = pg ? (i: number) => `$${i}` : () => '?';
    const active = pg ? 'e.is_active' : 'e.is_active = 1';
    // The candidate scan is bounded (a few times the batch) so the window function never sees the whole backlog.
    // Endpoints already at their bound are left out of it: otherwise a slow endpoint's backlog, first in due
    // order, would fill every window and starve the deliveries of healthy endpoints queued behind it.
    const saturated =
      `SELECT webhook_endpoint_id FROM deliveries WHERE status = 'in_flight' AND webhook_endpoint_id IS NOT NULL ` +
      `GROUP BY webhook_endpoint_id HAVING COUNT(*) >= ${p(8)}`;
    const candidates =
      `SELECT d.id, d.webhook_endpoint_id, d.next_retry_at FROM deliveries d ` +
      `LEFT JOIN webhook_endpoints e ON e.id = d.webhook_endpoint_id ` +
      `WHERE d.status = 'pending' AND d.next_retry_at <= ${p(1)} AND (d.webhook_endpoint_id IS NULL OR ${active}) ` +
      `AND (d.webhook_endpoint_id IS NULL OR d.webhook_endpoint_id NOT IN (${saturated})) ` +
      `ORDER BY d.next_retry_at, d.id LIMIT ${p(2)}` +
      (pg ? ' FOR UPDATE OF d SKIP LOCKED' : '');
    const sql =
      `WITH cand AS (${candidates}), ` +
      `busy AS (SELECT webhook_endpoint_id, COUNT(*) AS n FROM deliveries WHERE status = 'in_flight' AND webhook_endpoint_id IN (SELECT webhook_endpoint_id FROM cand) GROUP BY webhook_endpoint_id), ` +
      `ranked AS (SELECT cand.id, cand.next_retry_at, ROW_NUMBER() OVER (PARTITION BY COALESCE(cand.webhook_endpoint_id, cand.id) ORDER BY cand.next_retry_at, cand.id) + COALESCE(busy.n, 0) AS slot ` +
      `FROM cand LEFT JOIN busy ON busy.webhook_endpoint_id = cand.webhook_endpoint_id) ` +
      `UPDATE deliveries SET status = 'in_flight', locked_until = ${p(3)}, locked_by = ${p(4)}, updated_at = ${p(5)} ` +
      `WHERE id IN (SELECT id FROM ranked WHERE slot <= ${p(6)} ORDER BY next_retry_at, id LIMIT ${p(7)}) ` +
      `RETURNING id, organization_id, event_id, event_type, webhook_endpoint_id, target_url, target_secret_encrypted, attempt_count, created_at, next_retry_at`;
    // SQLite binds `?` in textual order: the saturation subquery sits inside the candidate scan, before LIMIT.
    const params = pg
      ? [opts.now, opts.limit * 4, opts.now + opts.leaseMs, opts.token, opts.now, opts.perEndpoint, opts.limit, opts.perEndpoint]
      : [opts.now, opts.perEndpoint, opts.limit * 4, opts.now + opts.leaseMs, opts.token, opts.now, opts.perEndpoint, opts.limit];
    const raw = await this.db.transaction((m) => m.query(sql, params));
    const rows: Array<Record<string, unknown>> = pg ? raw[0] ?? raw : raw;
    return (Array.isArray(rows) ? rows : []).map((r) => ({
      id: r.id as string,
      organizationId: r.organization_id as string,
      eventId: r.event_id as string,
      eventType: r.event_type as string,
      webhookEndpointId: (r.webhook_endpoint_id as string) ?? null,
      targetUrl: r.target_url as string,
      targetSecretEncrypted: (r.target_secret_encrypted as string) ?? null,
      attemptCount: Number(r.attempt_count),
      createdAtMs: Number(r.created_at),
      dueAtMs: Number(r.next_retry_at ?? r.created_at),
    }));
  }

  /** Leases of dead workers: back to pending, to be retried as the same attempt number. */
  async releaseExpiredLeases(now: number): Promise<number> {
    const r = await this.db.transaction((m) => m
      .createQueryBuilder()
      .update(Delivery)
      .set({ status: 'pending', lockedUntil: null, lockedBy: null, updatedAt: new Date(now) })
      .where("status = 'in_flight' AND locked_until < :now", { now })
      .execute());
    return r.affected ?? 0;
  }

  /** Graceful shutdown: give back what this worker claimed but did not finish. */
  async releaseLeases(tokens: string[], now: number): Promise<number> {
    if (!tokens.length) return 0;
    const r = await this.db.transaction((m) => m
      .createQueryBuilder()
      .update(Delivery)
      .set({ status: 'pending', lockedUntil: null, lockedBy: null, updatedAt: new Date(now) })
      .where("status = 'in_flight' AND locked_by IN (:...tokens)", { tokens })
      .execute());
    return r.affected ?? 0;
  }

  async loadPayloads(eventIds: string[]): Promise<Map<string, Buffer>> {
    if (!eventIds.length) return new Map();
    const rows = await this.events.find({ select: ['id', 'payload'], where: { id: In(eventIds) } });
    return new Map(rows.map((r) => [r.id, r.payload]));
  }

  /**
   * Records a batch of attempt outcomes in the caller's transaction. Each delivery row only changes while it is
   * still in flight under the claim that produced the outcome: a delivery exhausted by an endpoint's deletion,
   * or re-claimed after its lease expired, is not revived by a late result. Every attempt is recorded anyway.
   * Returns the ids whose state was actually updated.
   */
  async recordOutcomes(manager: EntityManager, outcomes: AttemptOutcome[], now: Date): Promise<Set<string>> {
    if (!outcomes.length) return new Set();
    await manager.getRepository(DeliveryAttempt).insert(outcomes.map((o) => o.attempt));
    const applied = new Set<string>();
    for (const o of outcomes) {
      const a = o.attempt;
      const r = await manager
        .createQueryBuilder()
        .update(Delivery)
        .set({
          status: o.status,
          attemptCount: a.attemptNumber,
          nextRetryAt: o.nextRetryAt,
          lockedUntil: null,
          lockedBy: null,
          lastAttemptAt: a.startedAt,
          lastResponseStatus: a.responseStatus,
          lastError: a.errorMessage,
          deliveredAt: o.status === 'delivered' ? a.finishedAt : null,
          ...(o.targetUrl ? { targetUrl: o.targetUrl } : {}),
          updatedAt: now,
        })
        .where("id = :id AND status = 'in_flight' AND locked_by = :token", { id: o.deliveryId, token: o.claimToken })
        .execute();
      if (r.affected) applied.add(o.deliveryId);
    }
    return applied;
  }

  /** SPEC §5.7: an endpoint's pending and in-flight deliveries end with it. */
  async exhaustForEndpoint(manager: EntityManager, endpointId: string, now: Date): Promise<number> {
    const r = await manager
      .createQueryBuilder()
      .update(Delivery)
      .set({ status: 'exhausted', lockedUntil: null, lockedBy: null, nextRetryAt: null, lastError: 'endpoint deleted', updatedAt: now })
      .where("webhook_endpoint_id = :endpointId AND status IN ('pending', 'in_flight')", { endpointId })
      .execute();
    return r.affected ?? 0;
  }

  /** Re-queue one delivery now as a new attempt of the same id (SPEC §5.8); in-flight ones are left alone. */
  async requeue(manager: EntityManager, id: string, now: Date): Promise<boolean> {
    const r = await manager
      .createQueryBuilder()
      .update(Delivery)
      .set({ status: 'pending', nextRetryAt: now, attemptCount: 0, updatedAt: now })
      .where("id = :id AND status IN ('pending', 'delivered', 'exhausted')", { id })
      .execute();
    return (r.affected ?? 0) > 0;
  }

  async requeueExhaustedSince(manager: EntityManager, endpointId: string, since: Date, now: Date, max: number): Promise<number> {
    const ids = (
      await manager
        .getRepository(Delivery)
        .createQueryBuilder('d')
        .select('d.id', 'id')
        .where("d.webhook_endpoint_id = :endpointId AND d.status = 'exhausted' AND d.created_at >= :since", { endpointId, since: since.getTime() })
        .orderBy('d.created_at', 'ASC')
        .limit(max)
        .getRawMany<{ id: string }>()
    ).map((r) => r.id);
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const r = await manager
        .createQueryBuilder()
        .update(Delivery)
        .set({ status: 'pending', nextRetryAt: now, attemptCount: 0, updatedAt: now })
        .where('id IN (:...ids)', { ids: ids.slice(i, i + 500) })
        .execute();
      n += r.affected ?? 0;
    }
    return n;
  }

  findByEvent(organizationId: string, eventId: string, endpointId: string): Promise<Delivery | null> {
    return this.deliveries.findOneBy({ organizationId, eventId, webhookEndpointId: endpointId });
  }

  findForOrganization(organizationId: string, id: string): Promise<Delivery | null> {
    return this.deliveries.findOneBy({ id, organizationId });
  }

  async findWithPayload(organizationId: string, id: string): Promise<{ delivery: Delivery; payload: Buffer; attempts: DeliveryAttempt[] } | null> {
    const delivery = await this.findForOrganization(organizationId, id);
    if (!delivery) return null;
    const [payloads, attempts] = await Promise.all([
      this.loadPayloads([delivery.eventId]),
      // Chronological: a manual retry restarts the numbering, so attempt numbers alone do not order the history.
      this.attempts.find({ where: { deliveryId: id }, order: { startedAt: 'ASC', attemptNumber: 'ASC' } }),
    ]);
    return { delivery, payload: payloads.get(delivery.eventId) ?? Buffer.alloc(0), attempts };
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  list(filter: {
    organizationId: string;
    endpointId?: string;
    uploadId?: string;
    contactId?: string;
    status?: DeliveryStatus;
    cursor: CursorPosition | null;
    limit: number;
  }): Promise<Delivery[]> {
    const qb = this.deliveries.createQueryBuilder('d').where('d.organization_id = :org', { org: filter.organizationId });
    if (filter.endpointId) qb.andWhere('d.webhook_endpoint_id = :ep', { ep: filter.endpointId });
    if (filter.uploadId) qb.andWhere('d.upload_id = :up', { up: filter.uploadId });
    if (filter.contactId) qb.andWhere('d.contact_id = :ct', { ct: filter.contactId });
    if (filter.status) qb.andWhere('d.status = :st', { st: filter.status });
    if (filter.cursor) {
      const c = filter.cursor;
      qb.andWhere(
        new Brackets((w) => w.where('d.created_at < :cts', { cts: c.createdAtMs }).orWhere('d.created_at = :cts AND d.id < :cid', { cid: c.id })),
      );
    }
    return qb.orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'DESC').limit(filter.limit + 1).getMany();
  }

  /** Queue depth for metrics: due now, and held behind inactive endpoints. */
  async queueDepth(now: number): Promise<{ due: number; held: number; inFlight: number }> {
    const pg = this.db.isPostgres;
    const p = pg ? '$1' : '?';
    const active = pg ? 'e.is_active' : 'e.is_active = 1';
    const rows = await this.db.dataSource.query(
      `SELECT ` +
        `SUM(CASE WHEN d.status = 'pending' AND d.next_retry_at <= ${p} AND (d.webhook_endpoint_id IS NULL OR ${active}) THEN 1 ELSE 0 END) AS due, ` +
        `SUM(CASE WHEN d.status = 'pending' AND d.webhook_endpoint_id IS NOT NULL AND NOT (${active}) THEN 1 ELSE 0 END) AS held, ` +
        `SUM(CASE WHEN d.status = 'in_flight' THEN 1 ELSE 0 END) AS in_flight ` +
        `FROM deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.webhook_endpoint_id WHERE d.status IN ('pending', 'in_flight')`,
      pg ? [now] : [now],
    );
    const r = rows[0] ?? {};
    return { due: num(r.due) ?? 0, held: num(r.held) ?? 0, inFlight: num(r.in_flight) ?? 0 };
  }

  /**
   * Retention: deletes one bounded batch of old history; returns how many events went. Only finished history
   * goes: an event with a delivery still pending or in flight (say, held behind an endpoint disabled for months)
   * is kept, and skipped by the scan, so such events can never fill every batch and stall retention for good.
   */
  async deleteOlderThan(cutoff: Date, batch: number): Promise<number> {
    return this.db.transaction(async (m) => {
      const doomed = (
        await m
          .getRepository(Event)
          .createQueryBuilder('e')
          .select('e.id', 'id')
          .where('e.created_at < :cutoff', { cutoff: cutoff.getTime() })
          .andWhere("NOT EXISTS (SELECT 1 FROM deliveries busy WHERE busy.event_id = e.id AND busy.status IN ('pending', 'in_flight'))")
          .orderBy('e.created_at', 'ASC')
          .limit(batch)
          .getRawMany<{ id: string }>()
      ).map((r) => r.id);
      if (!doomed.length) return 0;
      await m
        .createQueryBuilder()
        .delete()
        .from(DeliveryAttempt)
        .where('delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (:...doomed))', { doomed })
        .execute();
      await m.createQueryBuilder().delete().from(Delivery).where('event_id IN (:...doomed)', { doomed }).execute();
      await m.createQueryBuilder().delete().from(Event).where('id IN (:...doomed)', { doomed }).execute();
      return doomed.length;
    });
  }
}
