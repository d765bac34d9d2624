import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp, TestOrg } from './test-app';

/** API helpers shared by the uploads suites (their phone data: phone-data.ts). */

/** The SPEC §4.1 Upload object, every field. */
export const UPLOAD_FIELDS = [
  'id',
  'user_id',
  'organization_id',
  'original_filename',
  'storage_path',
  'file_size_bytes',
  'status',
  'valid_row_count',
  'invalid_row_count',
  'duplicate_row_count',
  'total_rows',
  'credits_required',
  'credits_charged',
  'credits_refunded',
  'source',
  'api_key_id',
  'skip_mobile_lookup',
  'processed_storage_path',
  'processed_filtered_storage_path',
  'error_message',
  'exceeded_daily_limit',
  'webhook',
  'created_at',
  'updated_at',
  'processing_started_at',
  'completed_at',
].sort();

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export async function balanceOf(t: TestApp, org: TestOrg): Promise<number> {
  const res = await t.http.get('/api/v1/me').set(org.auth).expect(200);
  return res.body.organization.credits_balance;
}

export async function uploadsOf(t: TestApp, org: TestOrg): Promise<Array<Record<string, any>>> {
  const res = await t.http.get('/api/v1/uploads?limit=100').set(org.auth).expect(200);
  return res.body.data;
}

/** Every file under the storage root (relative paths), temporary `.part` files included. */
export function storedFiles(t: TestApp): string[] {
  const root = join(t.dataDir, 'files');
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p, join(rel, e));
      else out.push(join(rel, e));
    }
  };
  walk(root, '');
  return out.sort();
}

/** Path and query of an absolute download URL, to request it from the test server (whose port PUBLIC_BASE_URL does not know). */
export function localPath(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/** GET a signed URL without any API key; resolves with status, headers and the raw body bytes. */
export async function fetchSigned(t: TestApp, url: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer; json: any }> {
  const res = await t.http
    .get(localPath(url))
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  const body = res.body as Buffer;
  let json: any = null;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers as Record<string, string>, body, json };
}

/** Asks for a signed URL through the API, then downloads it. */
export async function download(t: TestApp, org: TestOrg, id: string, kind: 'original' | 'processed' | 'processed-filtered') {
  const res = await t.http.get(`/api/v1/uploads/${id}/download/${kind}`).set(org.auth).expect(200);
  return fetchSigned(t, res.body.download_url);
}
