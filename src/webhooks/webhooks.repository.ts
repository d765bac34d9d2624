import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { joinOrOwn } from '../common/transactions';
import { DatabaseService } from '../database/database.service';
import { rowBool, rowIntOrNull, rowsOf } from '../database/sql';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: Date | null;
}

/** One endpoint's share of a recorded batch of attempt results (deliveries/endpoint-bookkeeping.ts computes it). */
export interface EndpointResult {
  endpointId: string;
  anySuccess: boolean;
  failuresAfterLastSuccess: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  gone: boolean;
}

/** Column types (PostgreSQL's) of the bookkeeping rows, in column order (see rowsOf). */
const RESULT_TYPES = ['varchar', 'integer', 'integer', 'bigint', 'bigint', 'integer'];

@Injectable()
export class WebhooksRepository {
  constructor(
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    private readonly db: DatabaseService,
  ) {}

  private repo(manager?: EntityManager): Repository<WebhookEndpoint> {
    return manager?.getRepository(WebhookEndpoint) ?? this.endpoints;
  }

  async insert(endpoint: WebhookEndpoint, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => this.repo(m).insert(endpoint));
  }

  /** Scoped by organization: another organization's id is simply not found. */
  findForOrganization(organizationId: string, id: string, manager?: EntityManager): Promise<WebhookEndpoint | null> {
    return this.repo(manager).findOneBy({ id, organizationId });
  }

  listForOrganization(organizationId: string): Promise<WebhookEndpoint[]> {
    return this.endpoints.find({ where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async update(id: string, patch: Partial<WebhookEndpoint>, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => this.repo(m).update({ id }, patch));
  }

  async delete(id: string, manager?: EntityManager): Promise<void> {
    await joinOrOwn(this.db, manager, (m) => this.repo(m).delete({ id }));
  }

  /** The only query that reads ciphertexts: code that signs. */
  async findEncryptedSecrets(ids: string[]): Promise<Map<string, { current: string; previous: string | null; previousExpiresAt: Date | null }>> {
    if (!ids.length) return new Map();
    const rows = await this.endpoints
      .createQueryBuilder('e')
      .select(['e.id', 'e.secretEncrypted', 'e.previousSecretEncrypted', 'e.previousSecretExpiresAt'])
      .where('e.id IN (:...ids)', { ids })
      .getMany();
    return new Map(rows.map((r) => [r.id, { current: r.secretEncrypted, previous: r.previousSecretEncrypted, previousExpiresAt: r.previousSecretExpiresAt }]));
  }

  /** Active endpoints of the organization subscribed to the type (events is a small JSON list, filtered here). */
  async findActiveForEvent(manager: EntityManager, organizationId: string, type: string): Promise<WebhookEndpoint[]> {
    const rows = await this.repo(manager).find({ where: { organizationId, isActive: true } });
    return rows.filter((e) => (e.events as string[]).includes(type));
  }

  /** URLs with their encrypted user info: only for code that sends, or compares a new URL with the stored one. */
  findUrlsWithCredentials(ids: string[]): Promise<Array<Pick<WebhookEndpoint, 'id' | 'url' | 'urlCredentialsEncrypted'>>> {
    if (!ids.length) return Promise.resolve([]);
    return this.endpoints.createQueryBuilder('e').select(['e.id', 'e.url', 'e.urlCredentialsEncrypted']).where('e.id IN (:...ids)', { ids }).getMany();
  }

  /**
   * Endpoint bookkeeping for a recorded batch of attempt results, one entry per endpoint, in one UPDATE (several
   * workers may record results for the same endpoints at once, so it is computed in the statement from the row
   * as it is): a success in the batch resets the streak to the failures that followed it; otherwise failures add
   * to it. The endpoint is disabled at the threshold, or at once on 410. On PostgreSQL the rows are first locked in
   * id order: an UPDATE … FROM locks in whatever order its plan joins, and two instances locking the same endpoints
   * in different orders would deadlock. Returns the ids of the endpoints this update disabled.
   */
  async recordResults(manager: EntityManager, results: readonly EndpointResult[], disableThreshold: number, now: Date): Promise<Set<string>> {
    const disabled = new Set<string>();
    if (!results.length) return disabled;
    // On the delivery hot path (once per recorded batch): hand-written through the dual-engine helper.
    const { sql } = this.db;
    await this.db.lockInIdOrder(manager, 'webhook_endpoints', results.map((r) => r.endpointId));
    const values = results.map((r) => [r.endpointId, r.anySuccess ? 1 : 0, r.failuresAfterLastSuccess, r.lastSuccessAt, r.lastFailureAt, r.gone ? 1 : 0]);
    const streak = sql`CASE WHEN v.any_success = 1 THEN v.failures ELSE webhook_endpoints.consecutive_failures + v.failures END`;
    const disable = sql`webhook_endpoints.is_active = ${true} AND (v.gone = 1 OR ${streak} >= ${disableThreshold})`;
    const rows = await this.db.rows(
      manager,
      sql`WITH v (id, any_success, failures, last_success_at, last_failure_at, gone) AS (${rowsOf(values, RESULT_TYPES)})
        UPDATE webhook_endpoints SET consecutive_failures = ${streak},
          last_success_at = COALESCE(v.last_success_at, webhook_endpoints.last_success_at),
          last_failure_at = COALESCE(v.last_failure_at, webhook_endpoints.last_failure_at),
          disabled_at = CASE WHEN ${disable} THEN ${now} ELSE webhook_endpoints.disabled_at END,
          is_active = CASE WHEN ${disable} THEN ${false} ELSE webhook_endpoints.is_active END,
          updated_at = ${now}
        FROM v WHERE webhook_endpoints.id = v.id RETURNING webhook_endpoints.id, webhook_endpoints.is_active, webhook_endpoints.disabled_at`,
      { prepared: true },
    );
    for (const r of rows) if (!rowBool(r.is_active) && rowIntOrNull(r.disabled_at) === now.getTime()) disabled.add(r.id as string);
    return disabled;
  }
}
