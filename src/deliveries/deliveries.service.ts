import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { decodeCursor, Page, toPage } from '../common/cursor';
import { Principal } from '../common/principal';
import { DatabaseService } from '../database/database.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import { DeliveriesRepository } from './deliveries.repository';
import { presentAttempt, presentDelivery } from './deliveries.presenter';
import { DeliveriesQueryDto, DeliveryDetailDto, EndpointDeliveriesQueryDto, EndpointStatsDto, WebhookDeliveryDto } from './delivery.dto';
import { DeliveryWaker } from './delivery-waker';
import { EventsService } from './events.service';

export const RECOVER_MAX = 10_000;
const HOUR_MS = 3_600_000;

/** Delivery queries and the operator actions of SPEC §5.8. */
@Injectable()
export class DeliveriesService implements OnModuleInit {
  constructor(
    private readonly db: DatabaseService,
    private readonly repo: DeliveriesRepository,
    private readonly webhooks: WebhooksService,
    private readonly events: EventsService,
    private readonly waker: DeliveryWaker,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.webhooks.addLifecycleListener({
      onEndpointDeleting: async (manager: EntityManager, endpointId: string) => {
        await this.repo.exhaustForEndpoint(manager, endpointId, this.clock.now());
      },
      onEndpointReactivated: () => this.waker.wake(),
    });
  }

  /** The seed's per-endpoint log: a bare array, newest first; the next page's cursor goes in a header. */
  async listForEndpoint(principal: Principal, endpointId: string, q: EndpointDeliveriesQueryDto): Promise<{ items: WebhookDeliveryDto[]; nextCursor: string | null }> {
    await this.webhooks.get(principal, endpointId);
    const limit = q.limit ?? 20;
    const rows = await this.repo.list({ organizationId: principal.organizationId, endpointId, status: q.status, cursor: decodeCursor(q.cursor), limit });
    const page = toPage(rows, limit, (d) => ({ createdAtMs: d.createdAt.getTime(), id: d.id }), presentDelivery);
    return { items: page.data, nextCursor: page.next_cursor };
  }

  async list(principal: Principal, q: DeliveriesQueryDto): Promise<Page<WebhookDeliveryDto>> {
    if (!q.upload_id && !q.contact_id) requireScope(principal, 'webhooks:manage');
    const limit = q.limit ?? 20;
    const rows = await this.repo.list({
      organizationId: principal.organizationId,
      uploadId: q.upload_id,
      contactId: q.contact_id,
      status: q.status,
      cursor: decodeCursor(q.cursor),
      limit,
    });
    return toPage(rows, limit, (d) => ({ createdAtMs: d.createdAt.getTime(), id: d.id }), presentDelivery);
  }

  async get(principal: Principal, id: string): Promise<DeliveryDetailDto> {
    const found = await this.repo.findWithPayload(principal.organizationId, id);
    if (!found) throw ApiError.notFound('Delivery not found');
    if (!found.delivery.uploadId && !found.delivery.contactId) requireScope(principal, 'webhooks:manage');
    return {
      ...presentDelivery(found.delivery),
      payload: JSON.parse(found.payload.toString('utf8')),
      attempts: found.attempts.map(presentAttempt),
    };
  }

  async retry(principal: Principal, endpointId: string, deliveryId: string): Promise<{ status: string; delivery_id: string }> {
    await this.webhooks.get(principal, endpointId);
    const d = await this.repo.findForOrganization(principal.organizationId, deliveryId);
    if (!d || d.webhookEndpointId !== endpointId) throw ApiError.notFound('Delivery not found');
    if (d.status === 'in_flight') throw ApiError.conflict('invalid_state', 'The delivery is being attempted right now', { status: d.status });
    const ok = await this.db.transaction((m) => this.repo.requeue(m, deliveryId, this.clock.now()));
    if (!ok) throw ApiError.conflict('invalid_state', 'The delivery is being attempted right now', { status: 'in_flight' });
    this.waker.wake();
    return { status: 'pending', delivery_id: deliveryId };
  }

  async recover(principal: Principal, endpointId: string, since: Date): Promise<{ requeued: number }> {
    await this.webhooks.get(principal, endpointId);
    const requeued = await this.db.transaction((m) => this.repo.requeueExhaustedSince(m, endpointId, since, this.clock.now(), RECOVER_MAX));
    if (requeued) this.waker.wake();
    return { requeued };
  }

  async sendTest(principal: Principal, endpointId: string, type: string): Promise<{ event_id: string; delivery_id: string }> {
    const endpoint = await this.webhooks.get(principal, endpointId);
    // SPEC §5.8: an inactive endpoint's deliveries are held, so a test event would only wait there unseen
    if (!endpoint.is_active) {
      throw ApiError.conflict('invalid_state', 'The endpoint is inactive: re-enable it (PATCH is_active: true) to send a test event', {
        is_active: false,
      });
    }
    const now = this.clock.now().toISOString();
    const upload = {
      id: '00000000-0000-4000-8000-000000000000',
      source: 'api',
      status: type === 'upload.failed' ? 'failed' : type === 'upload.completed' ? 'completed' : 'ready_for_processing',
      original_filename: 'sample.csv',
      total_rows: 100,
      valid_row_count: 100,
      invalid_row_count: 0,
      organization_id: principal.organizationId,
      created_at: now,
      ...(type === 'upload.completed' ? { completed_at: now } : {}),
    };
    const data: Record<string, unknown> = type.startsWith('contact.') ? { contact: sampleContact(type, principal.organizationId, now), test: true } : { upload, test: true };
    if (type === 'upload.failed') data.error_message = 'This is a test event';
    const event = await this.db.transaction((m) => this.events.publish(m, principal.organizationId, type, data, { onlyEndpointId: endpointId }));
    // Looked up by event, not among the newest rows: another instance's clock may run slightly ahead of ours.
    const delivery = await this.repo.findByEvent(principal.organizationId, event.id, endpointId);
    if (!delivery) throw ApiError.notFound('Webhook endpoint not found'); // deleted meanwhile
    return { event_id: event.id, delivery_id: delivery.id };
  }

  /**
   * An endpoint's health for a chart (SPEC §5.8): `hours` UTC-hour buckets ending with the current one, counted
   * from recorded attempts; pending/held are now.
   */
  async stats(principal: Principal, endpointId: string, hours: number): Promise<EndpointStatsDto> {
    const endpoint = await this.webhooks.get(principal, endpointId);
    const currentHour = Math.floor(this.clock.now().getTime() / HOUR_MS);
    const firstHour = currentHour - hours + 1;
    const [{ hours: counted, durations }, unfinished] = await Promise.all([
      this.repo.attemptStatsForEndpoint(endpointId, firstHour * HOUR_MS),
      this.repo.unfinishedForEndpoint(endpointId),
    ]);
    const byHour = new Map(counted.map((c) => [c.hour, c]));
    const buckets = Array.from({ length: hours }, (_, i) => {
      const c = byHour.get(firstHour + i);
      return { start: new Date((firstHour + i) * HOUR_MS).toISOString(), delivered: c?.delivered ?? 0, failed: c?.failed ?? 0 };
    });
    // Attempts stamped after "now" (another instance's clock running ahead) fall outside every bucket: leave them out.
    const attempts = buckets.reduce((n, b) => n + b.delivered + b.failed, 0);
    const delivered = buckets.reduce((n, b) => n + b.delivered, 0);
    return {
      hours,
      buckets,
      attempts,
      success_rate: attempts ? delivered / attempts : null,
      p50_ms: percentile(durations, 0.5),
      p95_ms: percentile(durations, 0.95),
      // inactive: pending rows are held (not attempted); one already on the wire still counts as pending
      pending: endpoint.is_active ? unfinished.pending + unfinished.inFlight : unfinished.inFlight,
      held: endpoint.is_active ? 0 : unfinished.pending,
    };
  }
}

/** Nearest-rank percentile over a sorted histogram of (value, count); null when empty. */
export function percentile(histogram: Array<{ ms: number; n: number }>, p: number): number | null {
  const total = histogram.reduce((n, h) => n + h.n, 0);
  if (!total) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const h of histogram) {
    seen += h.n;
    if (seen >= rank) return h.ms;
  }
  return histogram[histogram.length - 1].ms;
}


/** A key with only `uploads:read` may query deliveries about uploads, nothing else. */
function requireScope(principal: Principal, scope: 'webhooks:manage'): void {
  if (!principal.scopes.includes(scope)) {
    throw ApiError.insufficientScope(scope);
  }
}

/** A sample SPEC §11.1 Contact for `POST /webhooks/{id}/test` with a contact event type. */
function sampleContact(type: string, organizationId: string, now: string): Record<string, unknown> {
  const completed = type === 'contact.completed';
  return {
    id: '00000000-0000-4000-8000-000000000000',
    organization_id: organizationId,
    phone: '+14152345678',
    properties: {},
    status: completed ? 'completed' : 'failed',
    optimaldial_status: completed ? 'Likely Answer' : null,
    line_type: completed ? 'mobile' : null,
    error_message: completed ? null : 'This is a test event',
    message: null,
    credits_charged: 1,
    callback_url: null,
    created_at: now,
    updated_at: now,
    completed_at: now,
  };
}
