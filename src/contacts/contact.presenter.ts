import { iso } from '../common/iso';
import { redactCredentials } from '../net/url-policy';
import { Contact, ContactStatus } from './contact.entity';
import { ContactDto } from './contact.dto';

const MESSAGES: Partial<Record<ContactStatus, string>> = {
  queued: 'Contact has not been processed yet.',
  processing: 'Contact is being processed.',
};

/** The SPEC §11.1 Contact object; also `data.contact` of contact.completed / contact.failed (§6.2). */
export function presentContact(c: Contact): ContactDto {
  return {
    id: c.id,
    organization_id: c.organizationId,
    phone: c.phone,
    properties: c.properties,
    status: c.status,
    optimaldial_status: c.status === 'completed' ? c.optimaldialStatus : null,
    line_type: c.status === 'completed' ? c.lineType : null,
    error_message: c.status === 'failed' ? c.errorMessage : null,
    message: MESSAGES[c.status] ?? null,
    credits_charged: c.creditsCharged,
    callback_url: c.callbackUrl === null ? null : redactCredentials(c.callbackUrl),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    completed_at: c.status === 'completed' || c.status === 'failed' ? iso(c.completedAt) : null,
  };
}
