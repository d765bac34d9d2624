import { iso } from '../common/iso';
import { redactCredentials } from '../net/url-policy';
import { WebhookEndpointResponseDto } from './webhook.dto';
import { WebhookEndpoint } from './webhook-endpoint.entity';


/** The SPEC §5.1 object. The secret is never part of it, nor the URL's user info (sent as Basic auth, masked here). */
export function presentWebhook(e: WebhookEndpoint): WebhookEndpointResponseDto {
  return {
    id: e.id,
    user_id: e.userId,
    organization_id: e.organizationId,
    url: redactCredentials(e.url),
    description: e.description,
    events: e.events,
    is_active: e.isActive,
    verified_at: iso(e.verifiedAt),
    last_success_at: iso(e.lastSuccessAt),
    last_failure_at: iso(e.lastFailureAt),
    consecutive_failures: e.consecutiveFailures,
    disabled_at: iso(e.disabledAt),
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}
