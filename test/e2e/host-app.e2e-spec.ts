import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AuthService,
  DatabaseService,
  DeliveriesService,
  DeliveryProcessor,
  EventsService,
  loadConfig,
  TestClock,
  UploadProcessor,
  UploadsService,
  verifyWebhook,
  WebhooksService,
} from '../../src';
import { HostAppModule } from '../host-app/host-app.module';
import { validPhones } from '../support/phone-data';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freshPostgres } from '../support/test-app';

/**
 * Embedding (SPEC §10): a host application with its own root module imports the feature modules and drives
 * everything through the exported services — organization and key, the web upload flow, an endpoint, one of its
 * own events through the outbox, and the delivery — without a repository or entity in sight.
 */
describe('a host application embedding the modules', () => {
  let host: INestApplicationContext;
  let receiver: Receiver;
  let dataDir: string;
  let pg: Awaited<ReturnType<typeof freshPostgres>> = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'od-host-'));
    pg = await freshPostgres();
    const config = loadConfig({
      ...LOCAL_DELIVERY_ENV,
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      DATABASE_URL: pg?.url ?? '',
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'silent',
      DELIVERY_PROCESSOR_ENABLED: 'false',
      UPLOAD_PROCESSOR_ENABLED: 'false',
    });
    host = await NestFactory.createApplicationContext(HostAppModule.forRoot(config, new TestClock()), { logger: false });
    receiver = await Receiver.http();
  });
  afterAll(async () => {
    await host?.close();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  });

  it('creates an organization and key, runs the web upload flow, registers an endpoint, publishes its own event and reads the delivery', async () => {
    const auth = host.get(AuthService);
    const created = await auth.createOrganization({ name: 'Host Org', ownerEmail: 'owner@host.example', credits: 500 });
    const key = await auth.mintKey({ organizationId: created.organization.id, userId: created.user.id, name: 'host', scopes: ['uploads:write', 'uploads:read', 'webhooks:manage'] });
    const authenticated = await auth.authenticate(key.apiKey);
    if (!('principal' in authenticated)) throw new Error(`the minted key did not authenticate: ${authenticated.failure}`);
    const principal = authenticated.principal;

    // an endpoint subscribed to upload.created (the ping reaches the receiver and is answered 200)
    const webhooks = host.get(WebhooksService);
    const { webhook, secret } = await webhooks.create(principal, { url: `${receiver.url}/host`, events: ['upload.created', 'upload.completed'] });
    expect(receiver.requests).toHaveLength(1);

    // the web flow: pending_mapping → validating → awaiting_confirmation → ready_for_processing, source web
    const uploads = host.get(UploadsService);
    const csv = 'name,mobile\n' + validPhones(150).map((p, i) => `Lead ${i},${p}`).join('\n') + '\nBad,12345\n';
    const started = await uploads.startWebUpload(principal, { filename: 'leads.csv', content: csv });
    expect(started).toMatchObject({ status: 'pending_mapping', source: 'web', credits_charged: 0 });
    await expect(uploads.mapPhoneColumn(principal, started.id, 'phone')).rejects.toMatchObject({ status: 400 });
    expect((await uploads.get(principal, started.id)).status).toBe('pending_mapping');
    const mapped = await uploads.mapPhoneColumn(principal, started.id, 'mobile');
    expect(mapped).toMatchObject({ status: 'awaiting_confirmation', valid_row_count: 150, invalid_row_count: 1, credits_required: 150, credits_charged: 0 });
    expect((await auth.getOrganization(created.organization.id))!.creditsBalance).toBe(500);
    const confirmed = await uploads.confirmUpload(principal, started.id);
    expect(confirmed).toMatchObject({ status: 'ready_for_processing', credits_charged: 150 });
    expect((await auth.getOrganization(created.organization.id))!.creditsBalance).toBe(350);
    await expect(uploads.confirmUpload(principal, started.id)).rejects.toMatchObject({ status: 409 });

    // its own event through the outbox, to this endpoint
    const db = host.get(DatabaseService);
    const events = host.get(EventsService);
    const own = await db.transaction((m) => events.publish(m, principal.organizationId, 'invoice.paid', { invoice: { id: 'inv_1' } }, { onlyEndpointId: webhook.id }));

    await host.get(UploadProcessor).processDueUploads();
    expect((await uploads.get(principal, started.id)).status).toBe('completed');
    await host.get(DeliveryProcessor).processDueDeliveries();

    const received = receiver.requests.slice(1).map((r) => verifyWebhook(r.body, r.headers, secret));
    expect(received.map((e) => e.type).sort()).toEqual(['invoice.paid', 'upload.completed', 'upload.created']);
    const created_ = received.find((e) => e.type === 'upload.created')!;
    expect(created_.data).toMatchObject({ upload: { id: started.id, source: 'web', valid_row_count: 150 } });

    // and reads the delivery back through the exported service
    const deliveries = host.get(DeliveriesService);
    const list = await deliveries.listForEndpoint(principal, webhook.id, {});
    const ownDelivery = list.items.find((d) => d.event_id === own.id)!;
    expect(ownDelivery).toMatchObject({ status: 'delivered', event_type: 'invoice.paid' });
    const detail = await deliveries.get(principal, ownDelivery.id);
    expect(detail.attempts).toHaveLength(1);
    expect(detail.payload).toMatchObject({ id: own.id, type: 'invoice.paid', data: { invoice: { id: 'inv_1' } } });
  });

  it('a web upload with too few valid numbers ends validation_failed and is never charged', async () => {
    const auth = host.get(AuthService);
    const created = await auth.createOrganization({ name: 'Small', ownerEmail: 'small@host.example', credits: 500 });
    const a = await auth.authenticate(created.apiKey);
    if (!('principal' in a)) throw new Error('no principal');
    const uploads = host.get(UploadsService);
    const started = await uploads.startWebUpload(a.principal, { filename: 'few.csv', content: 'phone\n' + validPhones(20).join('\n') });
    const mapped = await uploads.mapPhoneColumn(a.principal, started.id, 'phone');
    expect(mapped).toMatchObject({ status: 'validation_failed', valid_row_count: 20 });
    expect(mapped.error_message).toMatch(/At least 100/);
    await expect(uploads.confirmUpload(a.principal, started.id)).rejects.toMatchObject({ status: 409 });
    expect((await auth.getOrganization(created.organization.id))!.creditsBalance).toBe(500);
  });
});
