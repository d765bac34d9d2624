import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { API_VERSION_DATE } from '../common/api-version';
import { Clock } from '../common/clock';
import { newEventId, newId } from '../common/ids';
import { DatabaseService } from '../database/database.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import { DeliveriesRepository } from './deliveries.repository';
import { Delivery } from './delivery.entity';
import { Event } from './event.entity';
import { DeliveryWaker } from './delivery-waker';

/** A per-request webhook target (SPEC §7.1). */
export interface RequestTarget {
  url: string;
  delaySeconds: number;
  /** The target's secret, already encrypted with SecretCipher (it is stored that way on the upload). */
  secretEncrypted?: string | null;
}

export interface PublishOptions {
  uploadId?: string | null;
  /** The contact the event is about (SPEC §11.5), for `GET /deliveries?contact_id=`. */
  contactId?: string | null;
  /** Deliver to this URL too (no endpoint, no subscription check). */
  requestTarget?: RequestTarget | null;
  /** Only to this endpoint (the `test` route): no other subscriber, and its subscription list is not consulted. */
  onlyEndpointId?: string;
}

/**
 * The transactional outbox (SPEC §6.1): an event and its deliveries are written in the caller's transaction,
 * so a state change and its event commit or roll back together. The envelope is serialized exactly once.
 */
@Injectable()
export class EventsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly repo: DeliveriesRepository,
    private readonly webhooks: WebhooksService,
    private readonly clock: Clock,
    private readonly waker: DeliveryWaker,
  ) {}

  async publish(manager: EntityManager, organizationId: string, type: string, data: Record<string, unknown>, options: PublishOptions = {}): Promise<Event> {
    const now = this.clock.now();
    const id = newEventId();
    const payload = Buffer.from(JSON.stringify({ id, type, api_version: API_VERSION_DATE, created_at: now.toISOString(), data }), 'utf8');
    const event = Object.assign(new Event(), { id, organizationId, type, apiVersion: API_VERSION_DATE, payload, uploadId: options.uploadId ?? null, createdAt: now });
    await this.repo.insertEvent(manager, event);

    const endpoints = options.onlyEndpointId
      ? [await this.webhooks.findForOrganization(organizationId, options.onlyEndpointId)].filter((e) => e !== null)
      : await this.webhooks.findActiveForEvent(manager, organizationId, type);
    const base = { organizationId, eventId: id, eventType: type, uploadId: options.uploadId ?? null, contactId: options.contactId ?? null, status: 'pending' as const, attemptCount: 0 };
    const rows: Delivery[] = endpoints.map((e) =>
      Object.assign(new Delivery(), { ...base, id: newId(), webhookEndpointId: e.id, targetUrl: e.url, targetSecretEncrypted: null, nextRetryAt: now, createdAt: now, updatedAt: now }),
    );
    const target = options.requestTarget;
    if (target) {
      rows.push(
        Object.assign(new Delivery(), {
          ...base,
          id: newId(),
          webhookEndpointId: null,
          targetUrl: target.url,
          targetSecretEncrypted: target.secretEncrypted ?? null,
          nextRetryAt: new Date(now.getTime() + target.delaySeconds * 1000),
          createdAt: now,
          updatedAt: now,
        }),
      );
    }
    await this.repo.insertDeliveries(manager, rows);
    if (rows.length) this.db.afterCommit(manager, () => this.waker.wake());
    return event;
  }
}
