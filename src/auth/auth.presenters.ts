import { iso } from '../common/iso';
import { ApiKey } from './api-key.entity';
import { Organization } from './organization.entity';
import { User } from './user.entity';


export function presentOrganization(o: Organization) {
  return {
    id: o.id,
    name: o.name,
    credits_balance: o.creditsBalance,
    subscription_status: o.subscriptionStatus,
    daily_row_limit: o.dailyRowLimit,
    features: o.features,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
  };
}

export function presentUser(u: User) {
  return { id: u.id, organization_id: u.organizationId, email: u.email, role: u.role, removed_at: iso(u.removedAt), created_at: iso(u.createdAt) };
}

/** Never includes the key or its hash. */
export function presentApiKey(k: ApiKey) {
  return {
    id: k.id,
    organization_id: k.organizationId,
    user_id: k.userId,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    last_used_at: iso(k.lastUsedAt),
    created_at: iso(k.createdAt),
  };
}
