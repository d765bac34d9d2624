import { EntityManager } from 'typeorm';
import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { DatabaseService } from '../database/database.service';
import { generateApiKey, hashApiKey, isWellFormedApiKey } from './api-key-codec';
import { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { Organization, SubscriptionStatus } from './organization.entity';
import { OrganizationsRepository } from './organizations.repository';
import { isScope, Scope, SCOPES } from '../common/scopes';
import { presentOrganization } from './auth.presenters';
import { MeResponseDto } from './me.dto';
import { FEATURES, isFeature } from './features';
import { User, UserRole } from './user.entity';

export interface CreateOrganizationInput {
  name: string;
  ownerEmail: string;
  credits?: number;
  subscription?: SubscriptionStatus;
  dailyRowLimit?: number | null;
  features?: string[];
}

export interface MintKeyInput {
  organizationId: string;
  userId: string;
  name?: string;
  scopes?: string[];
  expiresAt?: Date | null;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LAST_USED_INTERVAL_MS = 60_000;

/** Thrown for bad administrative input (CLI and host applications). */
export class AuthInputError extends Error {}

/**
 * Organizations, users and API keys (SPEC §3). Used by the bearer guard, the admin CLI and host applications.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly db: DatabaseService,
    private readonly orgs: OrganizationsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly clock: Clock,
  ) {}

  async createOrganization(input: CreateOrganizationInput): Promise<{ organization: Organization; user: User; apiKey: string; key: ApiKey }> {
    const name = input.name?.trim();
    if (!name || name.length > 200) throw new AuthInputError('name is required (at most 200 characters)');
    const email = normalizeEmail(input.ownerEmail);
    const credits = input.credits ?? 0;
    if (!Number.isSafeInteger(credits) || credits < 0) throw new AuthInputError('credits must be a non-negative integer');
    const subscription = input.subscription ?? 'active';
    if (!['active', 'inactive'].includes(subscription)) throw new AuthInputError('subscription must be active or inactive');
    const now = this.clock.now();
    const organization = Object.assign(new Organization(), {
      id: newId(),
      name,
      creditsBalance: credits,
      subscriptionStatus: subscription,
      dailyRowLimit: input.dailyRowLimit ?? null,
      features: input.features ?? [],
      createdAt: now,
      updatedAt: now,
    });
    const user = Object.assign(new User(), { id: newId(), organizationId: organization.id, email, role: 'owner', removedAt: null, createdAt: now });
    const minted = this.buildKey({ organizationId: organization.id, userId: user.id, name: 'default' }, now);
    await this.db.transaction(async (m) => {
      await this.orgs.insertOrganization(organization, m);
      await this.orgs.insertUser(user, m);
      await this.keys.insert(minted.entity, m);
    });
    return { organization, user, apiKey: minted.key, key: minted.entity };
  }

  async addUser(organizationId: string, emailRaw: string, role: UserRole = 'member'): Promise<User> {
    await this.requireOrganization(organizationId);
    if (!['owner', 'member'].includes(role)) throw new AuthInputError('role must be owner or member');
    const email = normalizeEmail(emailRaw);
    if (await this.orgs.findUserByEmail(organizationId, email)) throw new AuthInputError(`a user with email ${email} already exists in this organization`);
    const user = Object.assign(new User(), { id: newId(), organizationId, email, role, removedAt: null, createdAt: this.clock.now() });
    await this.orgs.insertUser(user);
    return user;
  }

  /** Removing a user revokes every key the user minted, in the same transaction. */
  async removeUser(userId: string): Promise<{ user: User; revokedKeys: number }> {
    const user = await this.orgs.findUser(userId);
    if (!user) throw new AuthInputError(`no user ${userId}`);
    if (user.removedAt) throw new AuthInputError(`user ${userId} was already removed`);
    const now = this.clock.now();
    const revokedKeys = await this.db.transaction(async (m) => {
      await this.orgs.markUserRemoved(userId, now, m);
      return this.keys.revokeAllOfUser(userId, now, m);
    });
    return { user: { ...user, removedAt: now }, revokedKeys };
  }

  async mintKey(input: MintKeyInput): Promise<{ apiKey: string; key: ApiKey }> {
    await this.requireOrganization(input.organizationId);
    const user = await this.orgs.findUser(input.userId);
    if (!user || user.organizationId !== input.organizationId) throw new AuthInputError(`no user ${input.userId} in organization ${input.organizationId}`);
    if (user.removedAt) throw new AuthInputError('the user was removed from the organization');
    if (user.role !== 'owner') throw new AuthInputError('only owners mint API keys');
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new AuthInputError('expires_at must be in the future');
    const minted = this.buildKey(input, now);
    await this.keys.insert(minted.entity);
    return { apiKey: minted.key, key: minted.entity };
  }

  listKeys(organizationId: string): Promise<ApiKey[]> {
    return this.keys.listForOrganization(organizationId);
  }

  async revokeKey(id: string): Promise<ApiKey> {
    const key = await this.keys.findById(id);
    if (!key) throw new AuthInputError(`no API key ${id}`);
    if (!(await this.keys.revoke(id, this.clock.now()))) throw new AuthInputError(`API key ${id} is already revoked`);
    return (await this.keys.findById(id))!;
  }

  async addCredits(organizationId: string, amount: number): Promise<Organization> {
    if (!Number.isSafeInteger(amount) || amount === 0) throw new AuthInputError('amount must be a non-zero integer');
    await this.requireOrganization(organizationId);
    const ok = await this.orgs.adjustCredits(organizationId, amount, this.clock.now());
    if (!ok) throw new AuthInputError('the balance cannot go below zero');
    return (await this.orgs.findById(organizationId))!;
  }

  async setSubscription(organizationId: string, status: SubscriptionStatus): Promise<Organization> {
    if (!['active', 'inactive'].includes(status)) throw new AuthInputError('status must be active or inactive');
    await this.requireOrganization(organizationId);
    await this.orgs.update(organizationId, { subscriptionStatus: status, updatedAt: this.clock.now() });
    return (await this.orgs.findById(organizationId))!;
  }

  async updateOrganization(organizationId: string, patch: { dailyRowLimit?: number | null; features?: string[] }): Promise<Organization> {
    await this.requireOrganization(organizationId);
    await this.orgs.update(organizationId, { ...patch, updatedAt: this.clock.now() });
    return (await this.orgs.findById(organizationId))!;
  }

  /**
   * Enables and/or disables organization features (SPEC §3.1, e.g. `single_contact_api` for the Contacts API).
   * Unknown names, a name in both lists, or neither list → AuthInputError. Idempotent.
   */
  async setFeatures(organizationId: string, change: { enable?: string[]; disable?: string[] }): Promise<Organization> {
    const enable = change.enable ?? [];
    const disable = change.disable ?? [];
    if (!enable.length && !disable.length) throw new AuthInputError('give at least one feature to enable or disable');
    for (const f of [...enable, ...disable]) if (!isFeature(f)) throw new AuthInputError(`unknown feature "${f}" (valid: ${FEATURES.join(', ')})`);
    const both = enable.filter((f) => disable.includes(f));
    if (both.length) throw new AuthInputError(`feature "${both[0]}" cannot be enabled and disabled at once`);
    const org = await this.requireOrganization(organizationId);
    const features = [...new Set([...org.features.filter((f) => !disable.includes(f)), ...enable])].sort();
    await this.orgs.update(organizationId, { features, updatedAt: this.clock.now() });
    return (await this.orgs.findById(organizationId))!;
  }

  async hasFeature(organizationId: string, feature: string): Promise<boolean> {
    return (await this.orgs.findById(organizationId))?.features.includes(feature) ?? false;
  }

  /** GET /api/v1/me: the caller's organization and key. */
  async me(principal: Principal): Promise<MeResponseDto> {
    const [organization, key] = await Promise.all([this.orgs.findById(principal.organizationId), this.keys.findById(principal.apiKeyId)]);
    if (!organization || !key) throw ApiError.unauthorized('Invalid API key');
    return {
      organization: presentOrganization(organization),
      api_key: { id: key.id, prefix: key.prefix, name: key.name, scopes: key.scopes, expires_at: key.expiresAt?.toISOString() ?? null },
      user_id: principal.userId,
    };
  }

  getOrganization(id: string): Promise<Organization | null> {
    return this.orgs.findById(id);
  }

  /** Resolves a bearer token to a principal, or says precisely why not (the response is the same 401 either way). */
  async authenticate(token: string | null /* null = absent, '' = unparsable header */): Promise<{ principal: Principal; key: ApiKey } | { failure: AuthFailure }> {
    if (token === null) return { failure: 'missing' };
    if (!isWellFormedApiKey(token)) return { failure: 'malformed' };
    const key = await this.keys.findByHash(hashApiKey(token));
    if (!key) return { failure: 'unknown' };
    const now = this.clock.now();
    if (key.revokedAt) return { failure: 'revoked' };
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return { failure: 'expired' };
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS) {
      // Best effort and off the request path: a lost update here only delays the timestamp.
      void this.keys.touchLastUsed(key.id, now, new Date(now.getTime() - LAST_USED_INTERVAL_MS)).catch(() => undefined);
    }
    return { principal: { organizationId: key.organizationId, userId: key.userId, apiKeyId: key.id, scopes: key.scopes }, key };
  }

  async requireOrganization(id: string): Promise<Organization> {
    const org = await this.orgs.findById(id);
    if (!org) throw new AuthInputError(`no organization ${id}`);
    return org;
  }

  /** For services that bill: a conditional update inside the caller's transaction. */
  chargeCredits(manager: EntityManager, organizationId: string, amount: number): Promise<boolean> {
    return this.orgs.adjustCredits(organizationId, -amount, this.clock.now(), manager);
  }

  refundCredits(manager: EntityManager, organizationId: string, amount: number): Promise<boolean> {
    return amount > 0 ? this.orgs.adjustCredits(organizationId, amount, this.clock.now(), manager) : Promise.resolve(true);
  }

  private buildKey(input: MintKeyInput, now: Date): { key: string; entity: ApiKey } {
    const scopes = input.scopes?.length ? input.scopes : [...SCOPES];
    for (const s of scopes) if (!isScope(s)) throw new AuthInputError(`unknown scope "${s}" (valid: ${SCOPES.join(', ')})`);
    const generated = generateApiKey();
    const entity = Object.assign(new ApiKey(), {
      id: newId(),
      organizationId: input.organizationId,
      userId: input.userId,
      name: input.name?.trim() || 'default',
      prefix: generated.prefix,
      keyHash: generated.hash,
      scopes: [...new Set(scopes)] as Scope[],
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
      createdAt: now,
    });
    return { key: generated.key, entity };
  }
}

function normalizeEmail(raw: string): string {
  const email = (raw ?? '').trim().toLowerCase();
  if (!EMAIL_RE.test(email) || email.length > 320) throw new AuthInputError(`"${raw}" is not a valid email address`);
  return email;
}
