import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { joinOrOwn } from '../common/transactions';
import { DatabaseService } from '../database/database.service';
import { raw, rowBool, rowIntOrNull } from '../database/sql';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: Date | null;
}

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
   * Endpoint bookkeeping for one endpoint's batch of attempt results, as one atomic UPDATE (several workers may
   * record results for the same endpoint at once): a success in the batch resets the streak to the failures that
   * followed it; otherwise failures add to it. The endpoint is disabled at the threshold, or at once on 410.
   * Returns true when this update disabled the endpoint.
   */
  async recordResults(
    manager: EntityManager,
    r: { endpointId: string; anySuccess: boolean; failuresAfterLastSuccess: number; lastSuccessAt: Date | null; lastFailureAt: Date | null; gone: boolean },
    disableThreshold: number,
    now: Date,
  ): Promise<boolean> {
    // On the delivery hot path (once per endpoint per recorded batch): hand-written through the dual-engine helper.
    const { sql } = this.db;
    const streak = r.anySuccess ? sql`${r.failuresAfterLastSuccess}` : sql`consecutive_failures + ${r.failuresAfterLastSuccess}`;
    // decided here when it can be (PostgreSQL would compare two untyped parameters as text)
    const constant = (v: boolean) => raw(v ? '1 = 1' : '1 = 0');
    const over = r.anySuccess ? constant(r.failuresAfterLastSuccess >= disableThreshold) : sql`${streak} >= ${disableThreshold}`;
    const disable = sql`is_active = ${true} AND (${constant(r.gone)} OR ${over})`;
    const [after] = await this.db.rows(
      manager,
      sql`UPDATE webhook_endpoints SET consecutive_failures = ${streak},
        last_success_at = COALESCE(${r.lastSuccessAt}, last_success_at), last_failure_at = COALESCE(${r.lastFailureAt}, last_failure_at),
        disabled_at = CASE WHEN ${disable} THEN ${now} ELSE disabled_at END,
        is_active = CASE WHEN ${disable} THEN ${false} ELSE is_active END,
        updated_at = ${now}
        WHERE id = ${r.endpointId} RETURNING is_active, disabled_at`,
    );
    return !!after && !rowBool(after.is_active) && rowIntOrNull(after.disabled_at) === now.getTime();
  }
}
