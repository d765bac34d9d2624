import { iso } from '../common/iso';
import { redactCredentials } from '../net/url-policy';
import { DeliveryAttempt } from './delivery-attempt.entity';
import { Delivery } from './delivery.entity';
import { DeliveryAttemptDto, WebhookDeliveryDto } from './delivery.dto';


export function presentDelivery(d: Delivery): WebhookDeliveryDto {
  return {
    id: d.id,
    webhook_endpoint_id: d.webhookEndpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempt_count: d.attemptCount,
    next_retry_at: d.status === 'pending' || d.status === 'in_flight' ? iso(d.nextRetryAt) : null,
    last_attempt_at: iso(d.lastAttemptAt),
    last_response_status: d.lastResponseStatus,
    last_error: d.lastError,
    target_url: redactCredentials(d.targetUrl),
    upload_id: d.uploadId,
    contact_id: d.contactId,
    created_at: d.createdAt.toISOString(),
    delivered_at: iso(d.deliveredAt),
  };
}

export function presentAttempt(a: DeliveryAttempt): DeliveryAttemptDto {
  return {
    attempt_number: a.attemptNumber,
    started_at: a.startedAt.toISOString(),
    finished_at: a.finishedAt.toISOString(),
    duration_ms: a.durationMs,
    response_status: a.responseStatus,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    response_body: a.responseBody,
  };
}
