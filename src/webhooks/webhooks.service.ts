import { HttpStatus, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { DatabaseService } from '../database/database.service';
import { generateWebhookSecret } from './signer';
import { UrlChecker } from '../net/url-checker';
import { SecretCipher } from '../crypto/secret-cipher';
import { CreateWebhookDto, CreateWebhookResponseDto, DeletedResponseDto, RotateSecretResponseDto, UpdateWebhookDto, WebhookEndpointResponseDto } from './webhook.dto';
import { presentWebhook } from './webhooks.presenter';
import { openUrl, SealedUrl, sealUrl } from '../net/url-credentials';
import { DEFAULT_EVENTS, SubscribableEventType, WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookPingService } from './webhook-ping.service';
import { EndpointResult, WebhooksRepository } from './webhooks.repository';

export const SECRET_ROTATION_OVERLAP_MS = 24 * 3600_000;
export const AUTO_DISABLE_THRESHOLD = 20;

/**
 * The seam to the delivery engine (which depends on this module, not the other way round): it registers here
 * to exhaust an endpoint's deliveries inside the delete transaction and to release held ones on re-enable.
 */
export interface WebhookLifecycleListener {
  onEndpointDeleting(manager: EntityManager, endpointId: string): Promise<void>;
  onEndpointReactivated(endpointId: string): void;
}

@Injectable()
export class WebhooksService {
  private readonly listeners: WebhookLifecycleListener[] = [];

  constructor(
    private readonly db: DatabaseService,
    private readonly repo: WebhooksRepository,
    private readonly urls: UrlChecker,
    private readonly ping: WebhookPingService,
    private readonly cipher: SecretCipher,
    private readonly clock: Clock,
  ) {}

  addLifecycleListener(listener: WebhookLifecycleListener): void {
    this.listeners.push(listener);
  }

  async create(principal: Principal, dto: CreateWebhookDto): Promise<CreateWebhookResponseDto> {
    const url = await this.urls.check(dto.url);
    const secret = generateWebhookSecret();
    await this.verifyByPing(url, [secret], null);
    const now = this.clock.now();
    const sealed = this.seal(url);
    const webhook = Object.assign(new WebhookEndpoint(), {
      id: newId(),
      organizationId: principal.organizationId,
      userId: principal.userId,
      url: sealed.url,
      urlCredentialsEncrypted: sealed.credentialsEncrypted,
      description: dto.description ?? null,
      events: (dto.events ?? DEFAULT_EVENTS) as SubscribableEventType[],
      isActive: true,
      secretEncrypted: this.cipher.encrypt(secret),
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      verifiedAt: now,
      lastSuccessAt: null,
      lastFailureAt: null,
      consecutiveFailures: 0,
      disabledAt: null,
      createdAt: now,
      updatedAt: now,
    });
    await this.repo.insert(webhook);
    return { webhook: presentWebhook(webhook), secret };
  }

  async list(principal: Principal): Promise<WebhookEndpointResponseDto[]> {
    return (await this.repo.listForOrganization(principal.organizationId)).map(presentWebhook);
  }

  async get(principal: Principal, id: string): Promise<WebhookEndpointResponseDto> {
    return presentWebhook(await this.find(principal, id));
  }

  async update(principal: Principal, id: string, dto: UpdateWebhookDto): Promise<WebhookEndpointResponseDto> {
    const endpoint = await this.find(principal, id);
    const now = this.clock.now();
    const patch: Partial<WebhookEndpoint> = {};
    if (dto.url !== undefined) {
      const url = await this.urls.check(dto.url);
      if (url.toString() !== (await this.fullUrl(endpoint.id, endpoint.url))) {
        // "with the existing secret" (SPEC §5.6): every secret the endpoint currently signs with, so during a
        // rotation's overlap the ping carries both signatures like any delivery (SPEC §5.8).
        const secrets = await this.signingSecrets(endpoint.id);
        await this.verifyByPing(url, secrets, endpoint.id);
        const sealed = this.seal(url);
        patch.url = sealed.url;
        patch.urlCredentialsEncrypted = sealed.credentialsEncrypted;
        patch.verifiedAt = this.clock.now();
      }
    }
    if (dto.description !== undefined) patch.description = dto.description;
    if (dto.events !== undefined) patch.events = dto.events as SubscribableEventType[];
    let reactivated = false;
    if (dto.is_active === true) {
      patch.isActive = true;
      patch.consecutiveFailures = 0;
      patch.disabledAt = null;
      reactivated = true;
    } else if (dto.is_active === false) {
      patch.isActive = false;
    }
    patch.updatedAt = now;
    await this.repo.update(id, patch);
    if (reactivated) for (const l of this.listeners) l.onEndpointReactivated(id);
    return presentWebhook((await this.repo.findForOrganization(principal.organizationId, id))!);
  }

  async delete(principal: Principal, id: string): Promise<DeletedResponseDto> {
    await this.find(principal, id);
    await this.db.transaction(async (m) => {
      for (const l of this.listeners) await l.onEndpointDeleting(m, id);
      await this.repo.delete(id, m);
    });
    return { status: 'deleted' };
  }

  async rotateSecret(principal: Principal, id: string): Promise<RotateSecretResponseDto> {
    const endpoint = await this.find(principal, id);
    const encrypted = (await this.repo.findEncryptedSecrets([endpoint.id])).get(endpoint.id)!;
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    const previousSecretExpiresAt = new Date(now.getTime() + SECRET_ROTATION_OVERLAP_MS);
    await this.repo.update(id, {
      secretEncrypted: this.cipher.encrypt(secret),
      previousSecretEncrypted: encrypted.current,
      previousSecretExpiresAt,
      updatedAt: now,
    });
    return { secret, previous_secret_expires_at: previousSecretExpiresAt.toISOString() };
  }

  private async find(principal: Principal, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.repo.findForOrganization(principal.organizationId, id);
    if (!endpoint) throw ApiError.notFound('Webhook endpoint not found');
    return endpoint;
  }

  /** Plaintext secrets to sign with right now: the current one, plus the previous one during a rotation. */
  async signingSecrets(endpointId: string): Promise<string[]> {
    return (await this.signingSecretsFor([endpointId])).get(endpointId) ?? [];
  }

  async signingSecretsFor(endpointIds: string[]): Promise<Map<string, string[]>> {
    const now = this.clock.nowMs();
    const out = new Map<string, string[]>();
    for (const [id, s] of await this.repo.findEncryptedSecrets(endpointIds)) {
      const secrets = [this.cipher.decrypt(s.current)];
      if (s.previous && s.previousExpiresAt && s.previousExpiresAt.getTime() > now) secrets.push(this.cipher.decrypt(s.previous));
      out.set(id, secrets);
    }
    return out;
  }

  findActiveForEvent(manager: EntityManager, organizationId: string, type: string): Promise<WebhookEndpoint[]> {
    return this.repo.findActiveForEvent(manager, organizationId, type);
  }


  private seal(url: URL): SealedUrl {
    return sealUrl(url.toString(), (s) => this.cipher.encrypt(s));
  }

  private async fullUrl(id: string, storedUrl: string): Promise<string> {
    const [row] = await this.repo.findUrlsWithCredentials([id]);
    return openUrl(storedUrl, row?.urlCredentialsEncrypted ?? null, (c) => this.cipher.decrypt(c));
  }

  /** Inside a transaction pass its manager: on PostgreSQL a read without it borrows a second pooled connection. */
  findForOrganization(organizationId: string, id: string, manager?: EntityManager): Promise<WebhookEndpoint | null> {
    return this.repo.findForOrganization(organizationId, id, manager);
  }

  /** A recorded batch's endpoint bookkeeping (SPEC §6.4), in the caller's transaction; returns the endpoints it disabled. */
  recordResults(manager: EntityManager, results: readonly EndpointResult[], now: Date): Promise<Set<string>> {
    return this.repo.recordResults(manager, results, AUTO_DISABLE_THRESHOLD, now);
  }

  private async verifyByPing(url: URL, secrets: string[], webhookId: string | null): Promise<void> {
    const result = await this.ping.ping(url, secrets, webhookId);
    if (result.ok) return;
    throw new ApiError(HttpStatus.BAD_REQUEST, {
      error: 'ping_failed',
      message: 'Endpoint did not respond 2xx to the ping challenge. Verify signature, then retry.',
      status_code: result.statusCode,
      underlying_error: result.underlyingError,
    });
  }
}
