import { HttpStatus, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { DatabaseService } from '../database/database.service';
import { generateWebhookSecret } from '../deliveries/signer';
import { AddressPolicy, UnsafeAddressError } from '../net/safe-lookup';
import { openUrl, SealedUrl, sealUrl, sendingTarget } from './url-credentials';
import { SecretCipher } from './secret-cipher';
import { CreateWebhookDto, UpdateWebhookDto } from './webhook.dto';
import { DEFAULT_EVENTS, SubscribableEventType, WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookPingService } from './webhook-ping.service';
import { WebhooksRepository } from './webhooks.repository';

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
    private readonly policy: AddressPolicy,
    private readonly ping: WebhookPingService,
    private readonly cipher: SecretCipher,
    private readonly clock: Clock,
  ) {}

  addLifecycleListener(listener: WebhookLifecycleListener): void {
    this.listeners.push(listener);
  }

  async create(principal: Principal, dto: CreateWebhookDto): Promise<{ webhook: WebhookEndpoint; secret: string }> {
    const url = await this.checkUrl(dto.url);
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
    await this.db.transaction((m) => this.repo.insert(m, webhook));
    const { secretEncrypted: _s, previousSecretEncrypted: _p, urlCredentialsEncrypted: _c, ...visible } = webhook;
    return { webhook: visible as WebhookEndpoint, secret };
  }

  list(principal: Principal): Promise<WebhookEndpoint[]> {
    return this.repo.listForOrganization(principal.organizationId);
  }

  async get(principal: Principal, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.repo.findForOrganization(principal.organizationId, id);
    if (!endpoint) throw ApiError.notFound('Webhook endpoint not found');
    return endpoint;
  }

  async update(principal: Principal, id: string, dto: UpdateWebhookDto): Promise<WebhookEndpoint> {
    const endpoint = await this.get(principal, id);
    const now = this.clock.now();
    const patch: Partial<WebhookEndpoint> = {};
    if (dto.url !== undefined) {
      const url = await this.checkUrl(dto.url);
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
    await this.db.transaction((m) => this.repo.update(m, id, patch));
    if (reactivated) for (const l of this.listeners) l.onEndpointReactivated(id);
    return (await this.repo.findForOrganization(principal.organizationId, id))!;
  }

  async delete(principal: Principal, id: string): Promise<void> {
    await this.get(principal, id);
    await this.db.transaction(async (m) => {
      for (const l of this.listeners) await l.onEndpointDeleting(m, id);
      await this.repo.delete(m, id);
    });
  }

  async rotateSecret(principal: Principal, id: string): Promise<{ secret: string; previousSecretExpiresAt: Date }> {
    const endpoint = await this.get(principal, id);
    const encrypted = (await this.repo.findEncryptedSecrets([endpoint.id])).get(endpoint.id)!;
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    const previousSecretExpiresAt = new Date(now.getTime() + SECRET_ROTATION_OVERLAP_MS);
    await this.db.transaction((m) =>
      this.repo.update(m, id, {
        secretEncrypted: this.cipher.encrypt(secret),
        previousSecretEncrypted: encrypted.current,
        previousSecretExpiresAt,
        updatedAt: now,
      }),
    );
    return { secret, previousSecretExpiresAt };
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

  findByIds(ids: string[]): Promise<WebhookEndpoint[]> {
    return this.repo.findByIds(ids);
  }

  /** For sending: each endpoint's URL to dial (no user info) and its Basic Authorization header, if any. */
  async sendingTargetsFor(ids: string[]): Promise<Map<string, { storedUrl: string; url: string; authorization: string | undefined }>> {
    const out = new Map<string, { storedUrl: string; url: string; authorization: string | undefined }>();
    for (const e of await this.repo.findUrlsWithCredentials(ids)) {
      out.set(e.id, { storedUrl: e.url, ...sendingTarget(e.url, e.urlCredentialsEncrypted, (c) => this.cipher.decrypt(c)) });
    }
    return out;
  }

  private seal(url: URL): SealedUrl {
    return sealUrl(url.toString(), (s) => this.cipher.encrypt(s));
  }

  private async fullUrl(id: string, storedUrl: string): Promise<string> {
    const [row] = await this.repo.findUrlsWithCredentials([id]);
    return openUrl(storedUrl, row?.urlCredentialsEncrypted ?? null, (c) => this.cipher.decrypt(c));
  }

  findForOrganization(organizationId: string, id: string): Promise<WebhookEndpoint | null> {
    return this.repo.findForOrganization(organizationId, id);
  }

  recordResults(manager: EntityManager, result: Parameters<WebhooksRepository['recordResults']>[1], now: Date): Promise<boolean> {
    return this.repo.recordResults(manager, result, AUTO_DISABLE_THRESHOLD, now);
  }

  /**
   * SPEC §5.3 at request time: syntax and scheme, then every address the host resolves to. No connection is made
   * for a rejected URL. Also used for per-request webhook URLs.
   */
  async checkUrl(raw: string): Promise<URL> {
    const verdict = this.policy.validateUrl(raw);
    if (!verdict.ok) throw unsafeUrl(verdict.reason, verdict.message);
    try {
      await this.policy.resolveAndCheck(verdict.url.hostname);
    } catch (e) {
      if (e instanceof UnsafeAddressError) {
        throw unsafeUrl(
          e.reason,
          e.reason === 'unresolvable' ? 'The URL host does not resolve' : 'The URL host resolves to an address that is not public',
        );
      }
      throw e;
    }
    return verdict.url;
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

function unsafeUrl(reason: string, message: string): ApiError {
  return new ApiError(HttpStatus.BAD_REQUEST, { error: 'unsafe_url', message, reason });
}
