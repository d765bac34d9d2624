/**
 * Shared helpers of the delivery suites (deliveries*.e2e-spec.ts): endpoints registered through the API against
 * real local receivers, events published through the outbox, the processor driven by hand.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ServerResponse } from 'node:http';
import { DatabaseService } from '../../src/database/database.service';
import { Delivery } from '../../src/deliveries/delivery.entity';
import { DeliveryProcessor } from '../../src/deliveries/delivery.processor';
import { Event } from '../../src/deliveries/event.entity';
import { EventsService, PublishOptions } from '../../src/deliveries/events.service';
import { ReceivedRequest, Receiver } from '../support/receiver';
import { TestApp, TestOrg } from '../support/test-app';

export const MIN = 60_000;
export const HOUR = 3600_000;

export interface Endpoint {
  id: string;
  secret: string;
  url: string;
  org: TestOrg;
}

/** A request held by a receiver until the test releases it. */
export interface Held {
  req: ReceivedRequest;
  res: ServerResponse;
}

export class DeliveryHarness {
  private readonly receivers: Receiver[] = [];
  private readonly endpoints: Endpoint[] = [];

  constructor(readonly t: TestApp) {}

  async receiver(): Promise<Receiver> {
    const r = await Receiver.http();
    this.receivers.push(r);
    return r;
  }

  /** Registers an endpoint through the API (the receiver answers the ping 2xx), then forgets the ping. */
  async endpoint(org: TestOrg, r: Receiver, path = '/hook', body: Record<string, unknown> = {}): Promise<Endpoint> {
    const respond = r.respond;
    r.respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const url = `${r.url}${path}`;
    const res = await this.t.http.post('/api/v1/webhooks').set(org.auth).send({ url, ...body });
    r.respond = respond;
    if (res.status !== 200) throw new Error(`endpoint create failed: ${res.status} ${JSON.stringify(res.body)}`);
    const pings = r.requests.filter((q) => q.headers['x-optimaldial-event'] === 'webhook.ping');
    for (const p of pings) r.requests.splice(r.requests.indexOf(p), 1);
    const e = { id: res.body.webhook.id as string, secret: res.body.secret as string, url, org };
    this.endpoints.push(e);
    return e;
  }

  publish(organizationId: string, type = 'upload.completed', data: Record<string, unknown> = { upload: { id: 'u-1' } }, options?: PublishOptions): Promise<Event> {
    return this.t.get(DatabaseService).transaction((m) => this.t.get(EventsService).publish(m, organizationId, type, data, options));
  }

  drain(): Promise<void> {
    return this.t.get(DeliveryProcessor).processDueDeliveries();
  }

  async delivery(org: TestOrg, id: string): Promise<any> {
    const res = await this.t.http.get(`/api/v1/deliveries/${id}`).set(org.auth);
    if (res.status !== 200) throw new Error(`GET delivery ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async endpointState(e: Endpoint): Promise<any> {
    const res = await this.t.http.get(`/api/v1/webhooks/${e.id}`).set(e.org.auth);
    if (res.status !== 200) throw new Error(`GET webhook ${e.id}: ${res.status}`);
    return res.body;
  }

  async deliveriesOf(e: Endpoint, query = 'limit=100'): Promise<any[]> {
    const res = await this.t.http.get(`/api/v1/webhooks/${e.id}/deliveries?${query}`).set(e.org.auth);
    if (res.status !== 200) throw new Error(`GET deliveries of ${e.id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** The single delivery an event created for an endpoint. */
  async deliveryFor(e: Endpoint, eventId: string): Promise<any> {
    const found = (await this.deliveriesOf(e)).filter((d) => d.event_id === eventId);
    if (found.length !== 1) throw new Error(`expected one delivery of ${eventId} to ${e.id}, found ${found.length}`);
    return found[0];
  }

  /** Moves the test clock to `isoOrMs` + `plusMs` (never backwards). */
  advanceTo(isoOrMs: string | number, plusMs = 0): void {
    const target = (typeof isoOrMs === 'string' ? Date.parse(isoOrMs) : isoOrMs) + plusMs;
    const delta = target - this.t.clock.nowMs();
    if (delta > 0) this.t.clock.advance(delta);
  }

  /** Deletes what the test registered (their pending deliveries end exhausted) and closes the receivers. */
  async cleanup(): Promise<void> {
    for (const e of this.endpoints.splice(0)) await this.t.http.delete(`/api/v1/webhooks/${e.id}`).set(e.org.auth);
    // per-request deliveries have no endpoint to delete: end them so a later test's receiver never sees them
    await this.t.get(DatabaseService).transaction((m) =>
      m.createQueryBuilder().update(Delivery).set({ status: 'exhausted', nextRetryAt: null }).where("webhook_endpoint_id IS NULL AND status = 'pending'").execute(),
    );
    for (const r of this.receivers.splice(0)) await r.close().catch(() => undefined);
  }
}

export const respondWith =
  (status: number, body = '', headers: Record<string, string> = {}) =>
  (_req: ReceivedRequest, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };

/** A responder that holds every request until `release` answers them; tracks how many are held at once. */
export function holdingResponder(): {
  respond: (req: ReceivedRequest, res: ServerResponse) => void;
  held: Held[];
  maxConcurrent: () => number;
  release: (status?: number) => void;
} {
  const held: Held[] = [];
  let max = 0;
  return {
    held,
    respond: (req, res) => {
      held.push({ req, res });
      max = Math.max(max, held.length);
      res.on('close', () => {
        const i = held.findIndex((h) => h.res === res);
        if (i >= 0) held.splice(i, 1);
      });
    },
    maxConcurrent: () => max,
    release: (status = 200) => {
      for (const h of held.splice(0)) {
        h.res.writeHead(status);
        h.res.end('released');
      }
    },
  };
}

/** An independent Stripe-format verifier: `t=<ts>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `<ts>.<body>`. */
export function stripeVerify(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  if (!t) return false;
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.concat([Buffer.from(`${t}.`), body])).digest();
  return parts.filter(([k]) => k === 'v1').some(([, v]) => /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}

export const header = (r: ReceivedRequest, name: string): string => {
  const v = r.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};
