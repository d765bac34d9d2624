import { AuthService } from '../../src/auth/auth.service';
import type { TestApp, TestOrg } from '../support/test-app';

/** The SPEC §11.1 Contact object, every field. */
export const CONTACT_FIELDS = [
  'id',
  'organization_id',
  'phone',
  'properties',
  'status',
  'optimaldial_status',
  'line_type',
  'error_message',
  'message',
  'credits_charged',
  'callback_url',
  'created_at',
  'updated_at',
  'completed_at',
].sort();

/** An organization with the Contacts API enabled (SPEC §11.2). */
export async function contactsOrg(t: TestApp, opts: Parameters<TestApp['createOrganization']>[0] = {}): Promise<TestOrg> {
  const org = await t.createOrganization(opts);
  await t.get(AuthService).setFeatures(org.organizationId, { enable: ['single_contact_api'] });
  return org;
}

export async function balance(t: TestApp, org: TestOrg): Promise<number> {
  return (await t.get(AuthService).getOrganization(org.organizationId))!.creditsBalance;
}

export async function allContacts(t: TestApp, org: TestOrg): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  do {
    const res: { body: { data: Array<Record<string, any>>; next_cursor: string | null } } = await t.http.get(`/api/v1/contacts?limit=100${cursor ? `&cursor=${cursor}` : ''}`).set(org.auth).expect(200);
    out.push(...res.body.data);
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
}
