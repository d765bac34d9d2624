import { createHmac } from 'node:crypto';
import { HttpStatus, Injectable } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { decodeCursor, Page, toPage } from '../common/cursor';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { normalizePhone } from '../uploads/phone/phone-normalizer';
import { SecretCipher } from '../crypto/secret-cipher';
import { sealUrl } from '../net/url-credentials';
import { UrlChecker } from '../net/url-checker';
import { Contact, ContactStatus } from './contact.entity';
import { ContactDto, CreateContactDto } from './contact.dto';
import { presentContact } from './contact.presenter';
import { ContactsRepository } from './contacts.repository';

export const CONTACTS_FEATURE = 'single_contact_api';

export interface CreateContactResult {
  contact: ContactDto;
  /** 202: a callback will be notified (only for a newly created contact). */
  accepted: boolean;
  /** An idempotent repeat: the existing contact, nothing charged. */
  existing: boolean;
  /** The repeat's body differs from the one that created the contact (header `Idempotency-Mismatch: true`). */
  idempotencyMismatch: boolean;
}

/**
 * The Contacts API (SPEC §11): one number per request, one credit, classified asynchronously by the
 * ContactProcessor. Exported for host applications (SPEC §10); every method takes the caller's Principal.
 */
@Injectable()
export class ContactsService {
  private readonly hashKey: Buffer;

  constructor(
    private readonly db: DatabaseService,
    private readonly repo: ContactsRepository,
    private readonly auth: AuthService,
    private readonly urls: UrlChecker,
    private readonly cipher: SecretCipher,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    // A keyed hash: the body may carry a callback secret, which a plain digest would let anyone with the row guess at.
    this.hashKey = createHmac('sha256', config.secretsEncryptionKey).update('contact-request-hash').digest();
  }

  /** SPEC §11.2: the feature gate, checked before anything else a Contacts route does. */
  async assertFeature(principal: Principal): Promise<void> {
    await this.access(principal, false);
  }

  /** The feature, then (for writes) an active subscription: one read of the organization. */
  private async access(principal: Principal, write: boolean): Promise<void> {
    const org = await this.auth.getOrganization(principal.organizationId);
    if (!org?.features.includes(CONTACTS_FEATURE)) {
      throw ApiError.forbidden('feature_not_enabled', 'The Contacts API is not enabled for this organization; contact support to enable it', {
        feature: CONTACTS_FEATURE,
      });
    }
    if (write && org.subscriptionStatus !== 'active') {
      throw ApiError.forbidden('subscription_required', 'An active subscription is required to create or cancel contacts');
    }
  }

  /**
   * SPEC §11.3. Order: subscription (403), body rules (400), phone (422), callback URL safety (400), then the
   * idempotency lookup, then the insert and the 1-credit charge in one transaction (402 when the balance is 0).
   */
  async create(principal: Principal, dto: CreateContactDto): Promise<CreateContactResult> {
    await this.access(principal, true);
    if (dto.callback_secret !== undefined && dto.callback_url === undefined) {
      throw ApiError.validation('callback_secret is only allowed together with callback_url', { callback_secret: ['is only allowed together with callback_url'] });
    }
    const phone = normalizePhone(dto.phone);
    if (!phone) {
      throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
        error: 'invalid_phone_number',
        message: 'phone is not a valid US or Canadian phone number',
        phone: dto.phone,
      });
    }
    // user info encrypted at rest, the stored URL masked (SPEC §5.3), like every webhook target
    const callback = dto.callback_url === undefined ? null : sealUrl((await this.urls.check(dto.callback_url)).toString(), (s) => this.cipher.encrypt(s));
    const requestHash = this.requestHash(dto);
    const idempotencyKey = dto.idempotency_key ?? null;

    if (idempotencyKey !== null) {
      const existing = await this.repo.findByIdempotencyKey(principal.organizationId, principal.apiKeyId, idempotencyKey);
      if (existing) return this.repeat(existing, requestHash);
    }

    const now = this.clock.now();
    const contact = Object.assign(new Contact(), {
      id: newId(),
      organizationId: principal.organizationId,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      phone: phone.e164,
      properties: dto.properties ?? {},
      status: 'queued' as const,
      optimaldialStatus: null,
      lineType: null,
      errorMessage: null,
      creditsCharged: 1,
      callbackUrl: callback?.url ?? null,
      callbackCredentialsEncrypted: callback?.credentialsEncrypted ?? null,
      callbackSecretEncrypted: dto.callback_secret ? this.cipher.encrypt(dto.callback_secret) : null,
      idempotencyKey,
      requestHash,
      lockedUntil: null,
      lockedBy: null,
      createdAt: now,
      updatedAt: now,
      completedAt: null,
    });
    // The row first: a duplicate key loses here, before anything is charged. The charge is a conditional UPDATE
    // in the same transaction, so no overdraft and no row without its credit.
    const inserted = await this.db.transaction(async (m) => {
      if (!(await this.repo.insertUnlessDuplicate(m, contact))) return false;
      if (!(await this.auth.chargeCredits(m, principal.organizationId, 1))) throw new ApiError(HttpStatus.PAYMENT_REQUIRED, 'Insufficient credits');
      return true;
    });
    if (!inserted) {
      const existing = await this.repo.findByIdempotencyKey(principal.organizationId, principal.apiKeyId, idempotencyKey!);
      if (!existing) throw new Error('contact insert lost to a duplicate that cannot be found');
      return this.repeat(existing, requestHash);
    }
    return { contact: presentContact(contact), accepted: callback !== null, existing: false, idempotencyMismatch: false };
  }

  async list(principal: Principal, q: { limit?: number; cursor?: string; status?: ContactStatus }): Promise<Page<ContactDto>> {
    await this.access(principal, false);
    const limit = q.limit ?? 50;
    const rows = await this.repo.list({ organizationId: principal.organizationId, status: q.status, cursor: decodeCursor(q.cursor), limit });
    return toPage(rows, limit, (c) => ({ createdAtMs: c.createdAt.getTime(), id: c.id }), presentContact);
  }

  async get(principal: Principal, id: string): Promise<ContactDto> {
    await this.access(principal, false);
    return presentContact(await this.find(principal, id));
  }

  /** SPEC §11.4: only while queued; the refund commits with the state change; racing the processor, one wins. */
  async cancel(principal: Principal, id: string): Promise<{ status: 'cancelled'; contact_id: string; credits_refunded: number }> {
    await this.access(principal, true);
    const contact = await this.find(principal, id);
    const won = await this.db.transaction(async (m) => {
      const ok = await this.repo.discardIfQueued(m, id, this.clock.now());
      if (ok) await this.auth.refundCredits(m, contact.organizationId, contact.creditsCharged);
      return ok;
    });
    if (!won) {
      const status = (await this.repo.findForOrganization(principal.organizationId, id))?.status;
      throw ApiError.conflict('invalid_state', `The contact cannot be cancelled in status ${status}`, { status });
    }
    return { status: 'cancelled', contact_id: id, credits_refunded: contact.creditsCharged };
  }

  private repeat(existing: Contact, requestHash: string): CreateContactResult {
    return { contact: presentContact(existing), accepted: false, existing: true, idempotencyMismatch: existing.requestHash !== requestHash };
  }

  private async find(principal: Principal, id: string): Promise<Contact> {
    const c = await this.repo.findForOrganization(principal.organizationId, id);
    if (!c) throw ApiError.notFound('Contact not found');
    return c;
  }

  /** The body without its idempotency key, canonically serialized (key order does not make a body different). */
  private requestHash(dto: CreateContactDto): string {
    const body = { phone: dto.phone, properties: dto.properties ?? {}, callback_url: dto.callback_url ?? null, callback_secret: dto.callback_secret ?? null };
    return createHmac('sha256', this.hashKey).update(canonicalJson(body)).digest('hex');
  }
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}
