import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: Date | null;
}

@Injectable()
export class WebhooksRepository {
  constructor(@InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>) {}

  private repo(manager?: EntityManager): Repository<WebhookEndpoint> {
    return manager?.getRepository(WebhookEndpoint) ?? this.endpoints;
  }

  async insert(manager: EntityManager, endpoint: WebhookEndpoint): Promise<void> {
    await this.repo(manager).insert(endpoint);
  }

  /** Scoped by organization: another organization's id is simply not found. */
  findForOrganization(organizationId: string, id: string, manager?: EntityManager): Promise<WebhookEndpoint | null> {
    return this.repo(manager).findOneBy({ id, organizationId });
  }

  listForOrganization(organizationId: string): Promise<WebhookEndpoint[]> {
    return this.endpoints.find({ where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async update(manager: EntityManager, id: string, patch: Partial<WebhookEndpoint>): Promise<void> {
    await this.repo(manager).update({ id }, patch);
  }

  async delete(manager: EntityManager, id: string): Promise<void> {
    await this.repo(manager).delete({ id });
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

  findByIds(ids: string[]): Promise<WebhookEndpoint[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.endpoints.createQueryBuilder('e').where('e.id IN (:...ids)', { ids }).getMany();
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
    const streak = r.anySuccess ? `${r.failuresAfterLastSuccess}` : `consecutive_failures + ${r.failuresAfterLastSuccess}`;
    const disable = `is_active = ${this.bool(manager, true)} AND (${r.gone ? '1 = 1' : '1 = 0'} OR ${streak} >= ${disableThreshold})`;
    await manager
      .createQueryBuilder()
      .update(WebhookEndpoint)
      .set({
        consecutiveFailures: () => streak,
        ...(r.lastSuccessAt ? { lastSuccessAt: r.lastSuccessAt } : {}),
        ...(r.lastFailureAt ? { lastFailureAt: r.lastFailureAt } : {}),
        disabledAt: () => `CASE WHEN ${disable} THEN ${now.getTime()} ELSE disabled_at END`,
        isActive: () => `CASE WHEN ${disable} THEN ${this.bool(manager, false)} ELSE is_active END`,
        updatedAt: now,
      })
      .where('id = :id', { id: r.endpointId })
      .execute();
    // read back in the same transaction (TypeORM's query builder has no RETURNING on SQLite)
    const after = await manager.getRepository(WebhookEndpoint).findOne({ select: ['isActive', 'disabledAt'], where: { id: r.endpointId } });
    return !!after && !after.isActive && after.disabledAt?.getTime() === now.getTime();
  }

  private bool(manager: EntityManager, v: boolean): string {
    return manager.connection.options.type === 'postgres' ? String(v) : v ? '1' : '0';
  }
}
