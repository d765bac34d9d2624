import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { API_VERSION_DATE } from '../common/api-version';
import { Clock } from '../common/clock';
import { newEventId, newId } from '../common/ids';
import { DatabaseService } from '../database/database.service';
import { DeliveriesRepository, NewDelivery, NewEvent } from './deliveries.repository';
import { Event } from './event.entity';
import { DeliveryWaker } from './delivery-waker';

/** A per-request webhook target (SPEC §7.1). */
export interface RequestTarget {
  url: string;
  delaySeconds: number;
  /** The target's secret, already encrypted with SecretCipher (it is stored that way on the upload). */
  secretEncrypted?: string | null;
  /** The URL's user info, encrypted (`url` is masked); see webhooks/url-credentials.ts. */
  credentialsEncrypted?: string | null;
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

/** One event of a bulk publish (EventsService.publishMany). */
export interface EventToPublish {
  type: string;
  data: Record<string, unknown>;
  options?: PublishOptions;
}

/**
 * The transactional outbox (SPEC §6.1): an event and its deliveries are written in the caller's transaction,
 * so a state change and its event commit or roll back together. The envelope is serialized exactly once.
 * Every read here goes through the caller's manager: on PostgreSQL a read on another pool connection could wait
 * for this very transaction (issue 17).
 */
@Injectable()
export class EventsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly repo: DeliveriesRepository,
    private readonly clock: Clock,
    private readonly waker: DeliveryWaker,
  ) {}

  async publish(manager: EntityManager, organizationId: string, type: string, data: Record<string, unknown>, options: PublishOptions = {}): Promise<Event> {
    const [event] = await this.publishMany(manager, organizationId, [{ type, data, options }]);
    return event;
  }

  /**
   * Many events in one go, for hosts that emit in bulk: one subscriber lookup per event type, one multi-row
   * INSERT for the events and one for their deliveries, in the caller's transaction. Same rows as `publish`
   * called once per event, in order.
   */
  async publishMany(manager: EntityManager, organizationId: string, events: EventToPublish[]): Promise<Event[]> {
    const now = this.clock.now();
    const nowMs = now.getTime();
    const createdAt = now.toISOString();
    const subscribers = new Map<string, Promise<Array<{ id: string; url: string }>>>();
    const rows: NewEvent[] = [];
    const deliveries: NewDelivery[] = [];
    const out: Event[] = [];
    for (const { type, data, options = {} } of events) {
      const id = newEventId();
      const payload = Buffer.from(JSON.stringify({ id, type, api_version: API_VERSION_DATE, created_at: createdAt, data }), 'utf8');
      const uploadId = options.uploadId ?? null;
      rows.push({ id, organizationId, type, apiVersion: API_VERSION_DATE, payload, uploadId, createdAtMs: nowMs });
      out.push(Object.assign(new Event(), { id, organizationId, type, apiVersion: API_VERSION_DATE, payload, uploadId, createdAt: now }));
      const contactId = options.contactId ?? null;
      // Property by property, not `{ ...common, id, … }`: V8 takes ~9 µs for an object literal that spreads and
      // then adds properties (0.1 µs this way), and a 16-endpoint event builds 16 of them.
      const delivery = (webhookEndpointId: string | null, targetUrl: string, nextRetryAtMs: number, target: RequestTarget | null): NewDelivery => ({
        id: newId(),
        organizationId,
        eventId: id,
        eventType: type,
        webhookEndpointId,
        targetUrl,
        targetOrigin: target ? new URL(target.url).origin : null,
        targetSecretEncrypted: target?.secretEncrypted ?? null,
        targetCredentialsEncrypted: target?.credentialsEncrypted ?? null,
        uploadId,
        contactId,
        nextRetryAtMs,
        createdAtMs: nowMs,
      });
      for (const e of await this.targets(manager, organizationId, type, options, subscribers)) deliveries.push(delivery(e.id, e.url, nowMs, null));
      const target = options.requestTarget;
      if (target) deliveries.push(delivery(null, target.url, nowMs + target.delaySeconds * 1000, target));
    }
    await this.repo.insertEvents(manager, rows);
    await this.repo.insertDeliveries(manager, deliveries);
    if (deliveries.length) this.db.afterCommit(manager, () => this.waker.wake());
    return out;
  }

  private async targets(
    manager: EntityManager,
    organizationId: string,
    type: string,
    options: PublishOptions,
    subscribers: Map<string, Promise<Array<{ id: string; url: string }>>>,
  ): Promise<Array<{ id: string; url: string }>> {
    if (options.onlyEndpointId) {
      const e = await this.repo.findEndpointTarget(manager, organizationId, options.onlyEndpointId);
      return e ? [e] : [];
    }
    let list = subscribers.get(type);
    if (!list) subscribers.set(type, (list = this.repo.findSubscribers(manager, organizationId, type)));
    return list;
  }
}
