import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, EntityManager, In, Repository } from 'typeorm';
import { CursorPosition } from '../common/cursor';
import { joinOrOwn } from '../common/transactions';
import { DatabaseService } from '../database/database.service';
import { list, raw, rowInt, rowIntOrNull, rowsOf, rowStrOrNull } from '../database/sql';
import { DeliveryAttempt, ErrorClass } from './delivery-attempt.entity';
import { Delivery, DELIVERY_STATUSES, DeliveryStatus } from './delivery.entity';
import { Event } from './event.entity';

/** A claimed delivery: what the sender needs, straight from the claim statement, with the lease it was claimed under. */
export interface ClaimedDelivery {
  id: string;
  organizationId: string;
  eventId: string;
  eventType: string;
  webhookEndpointId: string | null;
  targetUrl: string;
  targetSecretEncrypted: string | null;
  /** A per-request target URL's encrypted user info (targetUrl is masked). */
  targetCredentialsEncrypted: string | null;
  attemptCount: number;
  /** attempt_count when the current retry schedule started (a manual retry restarts it, SPEC §5.8). */
  scheduleStartedAfter: number;
  createdAtMs: number;
  /** When the attempt became due (for a first attempt: the event, or the event plus a per-request delay). */
  dueAtMs: number;
  /** The claim's lease token (locked_by): an outcome is applied only while the row is still under it. */
  token: string;
}

/** One settled attempt as recorded in delivery_attempts (the DeliveryAttempt entity has this shape). */
export interface SettledAttempt {
  id: string;
  deliveryId: string;
  attemptNumber: number;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  responseBody: string | null;
}

/** The outcome of one attempt, as recorded in a batch. */
export interface AttemptOutcome {
  deliveryId: string;
  claimToken: string;
  attempt: SettledAttempt;
  /** delivered | pending (with nextRetryAt) | exhausted */
  status: DeliveryStatus;
  nextRetryAt: Date | null;
  /** Where the attempt went: an endpoint's URL may have changed since the delivery was created. */
  targetUrl?: string;
  /** The endpoint whose streak this outcome counts towards (none for a per-request target). */
  endpointId?: string | null;
  /** The receiver answered 410 Gone. */
  gone?: boolean;
}

/** What signing and sending to an endpoint need, read in one statement per batch. */
export interface EndpointTarget {
  id: string;
  /** Stored masked; its user info is `urlCredentialsEncrypted` (SPEC §5.3 Basic auth). */
  url: string;
  urlCredentialsEncrypted: string | null;
  secretEncrypted: string;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAtMs: number | null;
}

/** A delivery row as the outbox writes it. */
export interface NewDelivery {
  id: string;
  organizationId: string;
  eventId: string;
  eventType: string;
  webhookEndpointId: string | null;
  targetUrl: string;
  targetOrigin: string | null;
  targetSecretEncrypted: string | null;
  /** A per-request target's user info, encrypted (target_url is stored masked); null for endpoints. */
  targetCredentialsEncrypted: string | null;
  uploadId: string | null;
  contactId: string | null;
  nextRetryAtMs: number;
  createdAtMs: number;
}

/** An event row as the outbox writes it. */
export interface NewEvent {
  id: string;
  organizationId: string;
  type: string;
  apiVersion: string;
  payload: Buffer;
  uploadId: string | null;
  createdAtMs: number;
}

const num = (v: unknown) => (v == null ? null : Number(v));

/** Column types (PostgreSQL's) of the rows written by insertEvents, insertDeliveries and recordOutcomes, in column order (see rowsOf). */
const OUTCOME_TYPES = ['varchar', 'varchar', 'varchar', 'integer', 'bigint', 'bigint', 'integer', 'varchar', 'bigint', 'varchar'];
const EVENT_TYPES = ['varchar', 'varchar', 'varchar', 'varchar', 'text', 'varchar', 'bigint'];
const DELIVERY_TYPES = ['varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'text', 'text', 'varchar', 'varchar', 'varchar', 'integer', 'bigint', 'bigint', 'bigint'];
const ATTEMPT_TYPES = ['varchar', 'varchar', 'integer', 'bigint', 'bigint', 'integer', 'integer', 'varchar', 'varchar', 'text'];

/**
 * Candidates the claim reads (and on PostgreSQL locks) per row it may take: room for keys with fewer free slots
 * than their share of the window. 2 instead of 4: each candidate costs a table read, a place in the window's sort
 * and a row lock; six alternating BENCH_N=2000 drains (bench/deliveries.bench.ts) went from 4,586 to 5,061/s on
 * PostgreSQL (mean), three from 7,537 to 8,197/s on SQLite; the isolation scenario's rate did not change.
 */
const CLAIM_CANDIDATES_PER_SLOT = 2;

/** The key of the per-endpoint bound: the endpoint, else the per-request target's origin, else the row itself. */
const CONCURRENCY_KEY = 'COALESCE(webhook_endpoint_id, target_origin, id)';

@Injectable()
export class DeliveriesRepository {
  constructor(
    private readonly db: DatabaseService,
    @InjectRepository(Delivery) private readonly deliveries: Repository<Delivery>,
    @InjectRepository(DeliveryAttempt) private readonly attempts: Repository<DeliveryAttempt>,
    @InjectRepository(Event) private readonly events: Repository<Event>,
  ) {}

  async insertEvents(manager: EntityManager, rows: NewEvent[]): Promise<void> {
    const { sql } = this.db;
    await this.db.rowsPerBatch(manager, rows, (part) => {
      const values = part.map((e) => [e.id, e.organizationId, e.type, e.apiVersion, e.payload.toString('utf8'), e.uploadId, e.createdAtMs]);
      return sql`INSERT INTO events (id, organization_id, type, api_version, payload, upload_id, created_at) ${rowsOf(values, EVENT_TYPES)}`;
    });
  }

  async insertDeliveries(manager: EntityManager, rows: NewDelivery[]): Promise<void> {
    const { sql } = this.db;
    await this.db.rowsPerBatch(manager, rows, (part) => {
      const values = part.map((d) => [
        d.id, d.organizationId, d.eventId, d.eventType, d.webhookEndpointId, d.targetUrl, d.targetOrigin, d.targetSecretEncrypted,
        d.targetCredentialsEncrypted, d.uploadId, d.contactId, 'pending', 0, d.nextRetryAtMs, d.createdAtMs, d.createdAtMs,
      ]);
      return sql`INSERT INTO deliveries (id, organization_id, event_id, event_type, webhook_endpoint_id, target_url, target_origin, target_secret_encrypted, target_credentials_encrypted, upload_id, contact_id, status, attempt_count, next_retry_at, created_at, updated_at) ${rowsOf(values, DELIVERY_TYPES)}`;
    });
  }

  /**
   * Atomically moves up to `limit` due deliveries to `in_flight` under a lease and returns them.
   * - due: pending, next_retry_at <= now, and (per-request target, or endpoint active): inactive endpoints hold theirs.
   * - the per-endpoint bound holds across workers: rows already in flight for an endpoint count against it; a
   *   per-request target's origin gets the same bound (CONCURRENCY_KEY).
   * PostgreSQL: candidates are locked with FOR UPDATE SKIP LOCKED so concurrent claimers never take the same row.
   * SQLite: one UPDATE … RETURNING statement (SQLite has a single writer).
   * Given a manager it joins that transaction (the processor records outcomes and refills in one commit), and it
   * is that transaction's last statement: on PostgreSQL it plans with index scans only (see indexScansOnly).
   */
  async claimDue(opts: { now: number; limit: number; leaseMs: number; token: string; perEndpoint: number }, manager?: EntityManager): Promise<ClaimedDelivery[]> {
    const { sql } = this.db;
    const key = raw(CONCURRENCY_KEY);
    // `busy`: what is in flight per key, counted once (at most the global bound's worth of rows). The candidate scan
    // is bounded (CLAIM_CANDIDATES_PER_SLOT times the batch) so the window function never sees the whole backlog, and
    // keys already at their bound are left out of it: otherwise a slow endpoint's backlog, first in due order, would
    // fill every window and starve the deliveries of healthy endpoints queued behind it. The scan is in
    // idx_deliveries_due's order alone: a tie-break on id would make the engine read and sort every row due at the
    // same millisecond (a bulk publish writes thousands) before it could stop at the limit.
    // The chosen rows are then ordered by (next_retry_at, id), which is cheap on the few candidates.
    const statement = sql`WITH busy AS MATERIALIZED (SELECT ${key} AS k, COUNT(*) AS n FROM deliveries WHERE status = 'in_flight' GROUP BY ${key}),
      cand AS MATERIALIZED (SELECT d.id, COALESCE(d.webhook_endpoint_id, d.target_origin, d.id) AS k, d.next_retry_at FROM deliveries d
        LEFT JOIN webhook_endpoints e ON e.id = d.webhook_endpoint_id
        WHERE d.status = 'pending' AND d.next_retry_at <= ${opts.now} AND (d.webhook_endpoint_id IS NULL OR e.is_active = ${true})
        AND COALESCE(d.webhook_endpoint_id, d.target_origin, d.id) NOT IN (SELECT k FROM busy WHERE n >= ${opts.perEndpoint})
        ORDER BY d.next_retry_at LIMIT ${opts.limit * CLAIM_CANDIDATES_PER_SLOT}${this.db.skipLocked('d')}),
      ranked AS (SELECT cand.id, cand.next_retry_at, ROW_NUMBER() OVER (PARTITION BY cand.k ORDER BY cand.next_retry_at, cand.id) + COALESCE(busy.n, 0) AS slot
        FROM cand LEFT JOIN busy ON busy.k = cand.k)
      UPDATE deliveries SET status = 'in_flight', locked_until = ${opts.now + opts.leaseMs}, locked_by = ${opts.token}, updated_at = ${opts.now}
      WHERE id IN (SELECT id FROM ranked WHERE slot <= ${opts.perEndpoint} ORDER BY next_retry_at, id LIMIT ${opts.limit})
      RETURNING id, organization_id, event_id, event_type, webhook_endpoint_id, target_url, target_secret_encrypted, target_credentials_encrypted, attempt_count, schedule_started_after, created_at, next_retry_at`;
    const rows = await joinOrOwn(this.db, manager, async (m) => {
      await this.db.indexScansOnly(m);
      return this.db.rows(m, statement, { prepared: true });
    });
    return rows.map((r) => ({
      id: r.id as string,
      organizationId: r.organization_id as string,
      eventId: r.event_id as string,
      eventType: r.event_type as string,
      webhookEndpointId: rowStrOrNull(r.webhook_endpoint_id),
      targetUrl: r.target_url as string,
      targetSecretEncrypted: rowStrOrNull(r.target_secret_encrypted),
      targetCredentialsEncrypted: rowStrOrNull(r.target_credentials_encrypted),
      attemptCount: rowInt(r.attempt_count),
      scheduleStartedAfter: rowInt(r.schedule_started_after ?? 0),
      createdAtMs: rowInt(r.created_at),
      dueAtMs: rowInt(r.next_retry_at ?? r.created_at),
      token: opts.token,
    }));
  }

  /** Leases of dead workers: back to pending, to be retried as the same attempt number. */
  async releaseExpiredLeases(now: number): Promise<number> {
    const { sql } = this.db;
    return this.db.transaction((m) =>
      this.db.execute(m, sql`UPDATE deliveries SET status = 'pending', locked_until = NULL, locked_by = NULL, updated_at = ${now} WHERE status = 'in_flight' AND locked_until < ${now}`),
    );
  }

  /** Graceful shutdown: give back what this worker claimed but did not finish. */
  async releaseLeases(tokens: string[], now: number): Promise<number> {
    if (!tokens.length) return 0;
    const { sql } = this.db;
    return this.db.transaction((m) =>
      this.db.execute(m, sql`UPDATE deliveries SET status = 'pending', locked_until = NULL, locked_by = NULL, updated_at = ${now} WHERE status = 'in_flight' AND locked_by IN (${list(tokens)})`),
    );
  }

  async loadPayloads(eventIds: string[]): Promise<Map<string, Buffer>> {
    if (!eventIds.length) return new Map();
    const rows = await this.db.rows(null, this.db.sql`SELECT id, payload FROM events WHERE id IN (${list(eventIds)})`);
    return new Map(rows.map((r) => [r.id as string, Buffer.from(r.payload as string, 'utf8')]));
  }

  /** The endpoints' current URLs and signing ciphertexts, for one dispatch batch. */
  async loadEndpointTargets(endpointIds: string[]): Promise<Map<string, EndpointTarget>> {
    if (!endpointIds.length) return new Map();
    const rows = await this.db.rows(
      null,
      this.db.sql`SELECT id, url, url_credentials_encrypted, secret_encrypted, previous_secret_encrypted, previous_secret_expires_at FROM webhook_endpoints WHERE id IN (${list(endpointIds)})`,
    );
    return new Map(
      rows.map((r) => [
        r.id as string,
        {
          id: r.id as string,
          url: r.url as string,
          urlCredentialsEncrypted: rowStrOrNull(r.url_credentials_encrypted),
          secretEncrypted: r.secret_encrypted as string,
          previousSecretEncrypted: rowStrOrNull(r.previous_secret_encrypted),
          previousSecretExpiresAtMs: rowIntOrNull(r.previous_secret_expires_at),
        },
      ]),
    );
  }

  /** Endpoints an event goes to: active, of the organization, subscribed to the type (read in the caller's transaction). */
  async findSubscribers(manager: EntityManager, organizationId: string, type: string): Promise<Array<{ id: string; url: string }>> {
    const rows = await this.db.rows(manager, this.db.sql`SELECT id, url, events FROM webhook_endpoints WHERE organization_id = ${organizationId} AND is_active = ${true}`, { prepared: true });
    return rows.filter((r) => (JSON.parse(r.events as string) as string[]).includes(type)).map((r) => ({ id: r.id as string, url: r.url as string }));
  }

  /** One endpoint of the organization, active or not (the `test` route), read in the caller's transaction. */
  async findEndpointTarget(manager: EntityManager, organizationId: string, endpointId: string): Promise<{ id: string; url: string } | null> {
    const [r] = await this.db.rows(manager, this.db.sql`SELECT id, url FROM webhook_endpoints WHERE organization_id = ${organizationId} AND id = ${endpointId}`);
    return r ? { id: r.id as string, url: r.url as string } : null;
  }

  /**
   * Records a batch of attempt outcomes in the caller's transaction: an INSERT of the attempts and an
   * UPDATE … FROM v of the deliveries, both over `rowsOf()` rows in `db.rowsPerBatch`'s parts. Each delivery row only changes while it is still in flight under
   * the claim that produced the outcome: a delivery exhausted by an endpoint's deletion, or re-claimed after its
   * lease expired, is not revived by a late result. Every attempt is recorded anyway.
   * Returns the ids whose state was actually updated.
   */
  async recordOutcomes(manager: EntityManager, outcomes: AttemptOutcome[], now: Date): Promise<Set<string>> {
    const applied = new Set<string>();
    if (!outcomes.length) return applied;
    const { sql } = this.db;
    await this.db.rowsPerBatch(manager, outcomes, (part) => {
      const attempts = part.map(({ attempt: a }) => [
        a.id, a.deliveryId, a.attemptNumber, a.startedAt.getTime(), a.finishedAt.getTime(), a.durationMs, a.responseStatus, a.errorClass, a.errorMessage, a.responseBody,
      ]);
      return sql`INSERT INTO delivery_attempts (id, delivery_id, attempt_number, started_at, finished_at, duration_ms, response_status, error_class, error_message, response_body) ${rowsOf(attempts, ATTEMPT_TYPES)}`;
    });
    const rows = await this.db.rowsPerBatch(manager, outcomes, (part) => {
      const updates = part.map((o) => [
        o.deliveryId, o.claimToken, o.status, o.attempt.attemptNumber, o.nextRetryAt?.getTime() ?? null, o.attempt.startedAt.getTime(),
        o.attempt.responseStatus, o.attempt.errorMessage, o.status === 'delivered' ? o.attempt.finishedAt.getTime() : null, o.targetUrl ?? null,
      ]);
      return sql`WITH v (id, token, status, attempt_count, next_retry_at, last_attempt_at, last_response_status, last_error, delivered_at, target_url) AS (${rowsOf(updates, OUTCOME_TYPES)})
          UPDATE deliveries SET status = v.status, attempt_count = v.attempt_count, next_retry_at = v.next_retry_at, locked_until = NULL, locked_by = NULL,
            last_attempt_at = v.last_attempt_at, last_response_status = v.last_response_status, last_error = v.last_error, delivered_at = v.delivered_at,
            target_url = COALESCE(v.target_url, deliveries.target_url), updated_at = ${now}
          FROM v WHERE deliveries.id = v.id AND deliveries.status = 'in_flight' AND deliveries.locked_by = v.token
          RETURNING deliveries.id`;
    });
    for (const r of rows) applied.add(r.id as string);
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

  /**
   * Re-queue one delivery now as a new attempt of the same id (SPEC §5.8); in-flight ones are left alone.
   * Numbering keeps counting (attempt_count stays), the retry schedule starts again from its first step.
   */
  async requeue(manager: EntityManager, id: string, now: Date): Promise<boolean> {
    const r = await manager
      .createQueryBuilder()
      .update(Delivery)
      .set({ status: 'pending', nextRetryAt: now, scheduleStartedAfter: () => 'attempt_count', updatedAt: now })
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
        .set({ status: 'pending', nextRetryAt: now, scheduleStartedAfter: () => 'attempt_count', updatedAt: now })
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
      // Chronological; attempt numbers keep counting across manual retries (SPEC §5.8), so both orders agree.
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
    const rows = await this.db.rows(
      null,
      this.db.sql`SELECT
        SUM(CASE WHEN d.status = 'pending' AND d.next_retry_at <= ${now} AND (d.webhook_endpoint_id IS NULL OR e.is_active = ${true}) THEN 1 ELSE 0 END) AS due,
        SUM(CASE WHEN d.status = 'pending' AND d.webhook_endpoint_id IS NOT NULL AND e.is_active = ${false} THEN 1 ELSE 0 END) AS held,
        SUM(CASE WHEN d.status = 'in_flight' THEN 1 ELSE 0 END) AS in_flight
        FROM deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.webhook_endpoint_id WHERE d.status IN ('pending', 'in_flight')`,
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

  /**
   * The attempts an endpoint's deliveries made since `sinceMs` (SPEC §5.8 stats), grouped by UTC hour, plus a
   * histogram of their durations for the percentiles. Deliveries are found through
   * idx_deliveries_endpoint_status_attempted, one range per status: a delivery whose attempt started inside the
   * window has its `last_attempt_at` (the newest attempt's start) inside it too, so only the window's deliveries
   * are read, however long the endpoint's history is.
   */
  async attemptStatsForEndpoint(endpointId: string, sinceMs: number): Promise<{
    hours: Array<{ hour: number; delivered: number; failed: number }>;
    durations: Array<{ ms: number; n: number }>;
  }> {
    // One pass over the window: grouped by (hour, duration), split into per-hour counts and a duration histogram here.
    const rows = await this.db.rows(
      null,
      this.db.sql`SELECT a.started_at / 3600000 AS hour, a.duration_ms AS ms, COUNT(*) AS n, SUM(CASE WHEN a.error_class IS NULL THEN 1 ELSE 0 END) AS delivered
        FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
        WHERE d.webhook_endpoint_id = ${endpointId} AND d.status IN (${list([...DELIVERY_STATUSES])}) AND d.last_attempt_at >= ${sinceMs} AND a.started_at >= ${sinceMs}
        GROUP BY a.started_at / 3600000, a.duration_ms`,
    );
    const hours = new Map<number, { hour: number; delivered: number; failed: number }>();
    const durations = new Map<number, number>();
    for (const r of rows) {
      const hour = Number(r.hour);
      const n = Number(r.n);
      const delivered = Number(r.delivered);
      const h = hours.get(hour) ?? { hour, delivered: 0, failed: 0 };
      h.delivered += delivered;
      h.failed += n - delivered;
      hours.set(hour, h);
      durations.set(Number(r.ms), (durations.get(Number(r.ms)) ?? 0) + n);
    }
    return {
      hours: [...hours.values()],
      durations: [...durations.entries()].sort((a, b) => a[0] - b[0]).map(([ms, n]) => ({ ms, n })),
    };
  }

  /** An endpoint's unfinished deliveries now, by status (idx_deliveries_endpoint_status_attempted). */
  async unfinishedForEndpoint(endpointId: string): Promise<{ pending: number; inFlight: number }> {
    const rows = await this.db.rows(
      null,
      this.db.sql`SELECT status, COUNT(*) AS n FROM deliveries WHERE webhook_endpoint_id = ${endpointId} AND status IN ('pending', 'in_flight') GROUP BY status`,
    );
    const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return { pending: count('pending'), inFlight: count('in_flight') };
  }
}
