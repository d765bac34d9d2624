import { randomBytes } from 'node:crypto';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { AuthService } from '../auth/auth.service';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { decodeCursor, Page, toPage } from '../common/cursor';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { EventsService } from '../deliveries/events.service';
import { SecretCipher } from '../webhooks/secret-cipher';
import { WebhooksService } from '../webhooks/webhooks.service';
import { sealUrl } from '../webhooks/url-credentials';
import { CsvFormatError, PhoneColumnError, scanPhoneList, ScanResult } from './csv/phone-list-scanner';
import { DownloadKind, SignedUrls } from './signed-urls';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { parseUploadWebhook, ParsedUploadWebhook } from './upload-webhook';
import { Upload, UploadStatus } from './upload.entity';
import { presentUpload, uploadEventData } from './upload.presenter';
import { UploadsRepository } from './uploads.repository';

export const MIN_VALID_NUMBERS = 100;
const DOWNLOAD_TTL_SECONDS = 3600;

/** A CSV already streamed to storage by the HTTP layer (or a host application). */
export interface StoredCsv {
  storageKey: string;
  sizeBytes: number;
  filename: string;
}

export interface CsvUploadOptions {
  phoneColumn: string;
  skipMobileLookup?: boolean;
  webhook?: unknown;
  source?: 'api' | 'web';
}

export type UploadView = ReturnType<typeof presentUpload>;

@Injectable()
export class UploadsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly repo: UploadsRepository,
    private readonly auth: AuthService,
    private readonly events: EventsService,
    private readonly webhooks: WebhooksService,
    private readonly cipher: SecretCipher,
    private readonly urls: SignedUrls,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
  ) {}

  newStorageKey(): string {
    return `originals/${newId()}.csv`;
  }

  /** Before reading a byte of the file: an organization without an active subscription gets 403. */
  async assertCanUpload(principal: Principal): Promise<void> {
    const org = await this.auth.getOrganization(principal.organizationId);
    if (!org || org.subscriptionStatus !== 'active') {
      throw ApiError.forbidden('subscription_required', 'An active subscription is required to create or cancel uploads');
    }
  }

  /**
   * SPEC §4.3 for a CSV already in storage: validate, charge, create, publish `upload.created` — the row, the
   * charge and the event in one transaction. On any rejection the stored file is removed.
   */
  async createFromStoredCsv(principal: Principal, file: StoredCsv, options: CsvUploadOptions): Promise<{ upload: UploadView; accepted: boolean }> {
    try {
      await this.assertCanUpload(principal);
      const webhook = options.webhook === undefined ? null : await this.checkWebhook(options.webhook);
      const scan = await this.scan(file.storageKey, options.phoneColumn);
      if (scan.unique.length < MIN_VALID_NUMBERS) {
        throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
          error: 'too_few_valid_numbers',
          message: `At least ${MIN_VALID_NUMBERS} valid US/Canadian phone numbers are required; found ${scan.unique.length}`,
          valid_row_count: scan.unique.length,
          minimum: MIN_VALID_NUMBERS,
        });
      }
      const upload = await this.insertCharged(principal, file, options, scan, webhook);
      return { upload: presentUpload(upload), accepted: webhook !== null };
    } catch (e) {
      await this.storage.delete(file.storageKey).catch(() => undefined);
      throw e;
    }
  }

  /** `application/json` form: a list becomes a CSV (`phone` plus any contact fields) stored as the original. */
  async createFromJson(principal: Principal, body: unknown): Promise<{ upload: UploadView; accepted: boolean }> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw ApiError.badRequest('The body must be a JSON object');
    const b = body as Record<string, unknown>;
    const allowed = ['filename', 'phone_numbers', 'contacts', 'skip_mobile_lookup', 'webhook'];
    const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
    if (unknown.length) throw ApiError.validation(`${unknown[0]} is not a recognised field`, Object.fromEntries(unknown.map((k) => [k, ['is not a recognised field']])));
    if ((b.phone_numbers === undefined) === (b.contacts === undefined)) {
      throw ApiError.validation('Exactly one of phone_numbers or contacts is required', { phone_numbers: ['exactly one of phone_numbers or contacts is required'] });
    }
    if (b.filename !== undefined && (typeof b.filename !== 'string' || !b.filename.trim() || b.filename.length > 255)) {
      throw ApiError.validation('filename must be a non-empty string of at most 255 characters', { filename: ['must be a non-empty string of at most 255 characters'] });
    }
    if (b.skip_mobile_lookup !== undefined && typeof b.skip_mobile_lookup !== 'boolean') {
      throw ApiError.validation('skip_mobile_lookup must be a boolean', { skip_mobile_lookup: ['must be a boolean'] });
    }
    const list = (b.phone_numbers ?? b.contacts) as unknown;
    const field = b.phone_numbers !== undefined ? 'phone_numbers' : 'contacts';
    if (!Array.isArray(list)) throw ApiError.validation(`${field} must be an array`, { [field]: ['must be an array'] });
    if (list.length > this.config.upload.maxJsonEntries) {
      throw new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, {
        error: 'too_many_entries',
        message: `At most ${this.config.upload.maxJsonEntries} entries per upload`,
        limit: this.config.upload.maxJsonEntries,
        observed: list.length,
      });
    }
    await this.assertCanUpload(principal);
    const webhook = b.webhook === undefined ? undefined : b.webhook;
    const { columns, rows } = field === 'phone_numbers' ? phoneRows(list) : contactRows(list);
    const storageKey = this.newStorageKey();
    // With a single column, an empty entry would be an empty line, which CSV readers skip: quote it ("") so every
    // entry stays a row and total_rows / invalid_row_count match the list.
    const sizeBytes = await this.storage.write(storageKey, Readable.from(rows).pipe(stringify({ quoted_empty: columns.length === 1 })));
    const filename = (b.filename as string | undefined)?.trim() || `api_upload_${randomBytes(6).toString('hex')}.csv`;
    return this.createFromStoredCsv(principal, { storageKey, sizeBytes, filename }, { phoneColumn: 'phone', skipMobileLookup: b.skip_mobile_lookup === true, webhook });
  }

  async list(principal: Principal, q: { limit?: number; cursor?: string; status?: UploadStatus }): Promise<Page<UploadView>> {
    const limit = q.limit ?? 50;
    const rows = await this.repo.list({ organizationId: principal.organizationId, status: q.status, cursor: decodeCursor(q.cursor), limit });
    return toPage(rows, limit, (u) => ({ createdAtMs: u.createdAt.getTime(), id: u.id }), presentUpload);
  }

  async get(principal: Principal, id: string): Promise<UploadView> {
    return presentUpload(await this.find(principal, id));
  }

  /** SPEC §4.5: before processing only; the refund is atomic with the state change; racing the processor, one wins. */
  async cancel(principal: Principal, id: string): Promise<{ status: 'cancelled'; credits_refunded: number }> {
    await this.assertCanUpload(principal); // like every write on /api/v1/uploads (SPEC §4.5)
    const upload = await this.find(principal, id);
    const now = this.clock.now();
    const won = await this.db.transaction(async (m) => {
      const ok = await this.repo.cancel(m, id, { status: 'cancelled', creditsRefunded: upload.creditsCharged, updatedAt: now });
      if (ok) await this.auth.refundCredits(m, upload.organizationId, upload.creditsCharged);
      return ok;
    });
    if (!won) throw await this.invalidState(upload.organizationId, id, 'cancelled');
    return { status: 'cancelled', credits_refunded: upload.creditsCharged };
  }

  async downloadUrl(principal: Principal, id: string, kind: DownloadKind): Promise<{ download_url: string; expires_at: number }> {
    const upload = await this.find(principal, id);
    if (kind !== 'original' && upload.status !== 'completed') {
      throw ApiError.conflict('invalid_state', `The ${kind} file exists once the upload is completed`, { status: upload.status });
    }
    const { url, expiresAt } = this.urls.sign(id, kind, DOWNLOAD_TTL_SECONDS);
    return { download_url: url, expires_at: expiresAt };
  }

  // ---- the web flow (SPEC §4.2), driven by a host application through this service (SPEC §10) ----

  /**
   * A file arrives without a phone column: stored as is, `pending_mapping`, source `web`. Nothing is charged yet.
   * `upload.created` fires when the upload is confirmed and charged, as it does for an API upload.
   */
  async startWebUpload(principal: Principal, input: { filename: string; content: Readable | Buffer | string; skipMobileLookup?: boolean }): Promise<UploadView> {
    await this.assertCanUpload(principal);
    if (!input.filename?.trim()) throw ApiError.validation('filename is required', { filename: ['is required'] });
    const storageKey = this.newStorageKey();
    const source = input.content instanceof Readable ? input.content : Readable.from([Buffer.from(input.content)]);
    const sizeBytes = await this.storage.write(storageKey, source);
    const now = this.clock.now();
    const upload = this.newRow(principal, { storageKey, sizeBytes, filename: input.filename.trim() }, { skipMobileLookup: input.skipMobileLookup, source: 'web' }, now, {
      status: 'pending_mapping',
    });
    await this.db.transaction((m) => this.repo.insert(m, upload));
    return presentUpload(upload);
  }

  /**
   * `pending_mapping` → `validating` → `awaiting_confirmation` (with counts and the credits it will cost) or
   * `validation_failed` (fewer than 100 valid numbers). A column that is not in the header is a 400 and the
   * upload stays `pending_mapping`, so the user can pick another.
   */
  async mapPhoneColumn(principal: Principal, id: string, phoneColumn: string): Promise<UploadView> {
    const upload = await this.find(principal, id);
    await this.moveOrConflict(upload, ['pending_mapping'], { status: 'validating', updatedAt: this.clock.now() });
    let scan: ScanResult;
    try {
      scan = await this.scan(upload.storagePath, phoneColumn);
    } catch (e) {
      await this.db.transaction((m) => this.repo.transition(m, id, ['validating'], { status: 'pending_mapping', updatedAt: this.clock.now() }));
      throw e;
    }
    const enough = scan.unique.length >= MIN_VALID_NUMBERS;
    await this.db.transaction((m) =>
      this.repo.transition(m, id, ['validating'], {
        status: enough ? 'awaiting_confirmation' : 'validation_failed',
        phoneColumn: scan.header[scan.phoneIndex],
        ...scanCounts(scan),
        creditsCharged: 0,
        errorMessage: enough ? null : `At least ${MIN_VALID_NUMBERS} valid US/Canadian phone numbers are required; found ${scan.unique.length}`,
        updatedAt: this.clock.now(),
      }),
    );
    return this.get(principal, id);
  }

  /** `awaiting_confirmation` → `ready_for_processing`: charged (402 when short), flagged, `upload.created` — one transaction. */
  async confirmUpload(principal: Principal, id: string): Promise<UploadView> {
    const upload = await this.find(principal, id);
    await this.assertCanUpload(principal);
    const dailyRowLimit = (await this.auth.getOrganization(principal.organizationId))?.dailyRowLimit ?? null;
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      if (!(await this.auth.chargeCredits(m, upload.organizationId, upload.creditsRequired))) {
        throw new ApiError(HttpStatus.PAYMENT_REQUIRED, 'Insufficient credits');
      }
      const exceededDailyLimit =
        dailyRowLimit != null && (await this.repo.acceptedRowsSince(m, upload.organizationId, startOfUtcDay(now))) + upload.validRowCount > dailyRowLimit;
      const patch = { status: 'ready_for_processing' as const, creditsCharged: upload.creditsRequired, exceededDailyLimit, updatedAt: now };
      if (!(await this.repo.transition(m, id, ['awaiting_confirmation'], patch))) throw await this.invalidState(upload.organizationId, id, 'confirmed');
      await this.events.publish(m, upload.organizationId, 'upload.created', { upload: uploadEventData({ ...upload, ...patch }) }, { uploadId: id });
    });
    return this.get(principal, id);
  }

  private async moveOrConflict(upload: Upload, from: UploadStatus[], patch: Partial<Upload>): Promise<void> {
    const ok = await this.db.transaction((m) => this.repo.transition(m, upload.id, from, patch));
    if (!ok) throw await this.invalidState(upload.organizationId, upload.id, 'mapped');
  }

  private async invalidState(organizationId: string, id: string, action: string): Promise<ApiError> {
    const status = (await this.repo.findForOrganization(organizationId, id))?.status;
    return ApiError.conflict('invalid_state', `The upload cannot be ${action} in status ${status}`, { status });
  }

  private newRow(principal: Principal, file: StoredCsv, options: Pick<CsvUploadOptions, 'skipMobileLookup' | 'source'>, now: Date, fields: Partial<Upload>): Upload {
    return Object.assign(new Upload(), {
      id: newId(),
      organizationId: principal.organizationId,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      originalFilename: file.filename.slice(0, 255),
      storagePath: file.storageKey,
      phoneColumn: null,
      fileSizeBytes: file.sizeBytes,
      totalRows: 0,
      validRowCount: 0,
      invalidRowCount: 0,
      duplicateRowCount: 0,
      creditsRequired: 0,
      creditsCharged: 0,
      creditsRefunded: 0,
      source: options.source ?? 'api',
      skipMobileLookup: options.skipMobileLookup ?? false,
      processedStoragePath: null,
      processedFilteredStoragePath: null,
      errorMessage: null,
      exceededDailyLimit: false,
      webhook: null,
      webhookSecretEncrypted: null,
      webhookCredentialsEncrypted: null,
      lockedUntil: null,
      lockedBy: null,
      createdAt: now,
      updatedAt: now,
      processingStartedAt: null,
      completedAt: null,
      ...fields,
    });
  }

  private async find(principal: Principal, id: string): Promise<Upload> {
    const upload = await this.repo.findForOrganization(principal.organizationId, id);
    if (!upload) throw ApiError.notFound('Upload not found');
    return upload;
  }

  private async checkWebhook(raw: unknown): Promise<ParsedUploadWebhook> {
    const parsed = parseUploadWebhook(raw);
    parsed.url = (await this.webhooks.checkUrl(parsed.url)).toString();
    return parsed;
  }

  private async scan(storageKey: string, phoneColumn: string): Promise<ScanResult> {
    try {
      return await scanPhoneList(this.storage.read(storageKey), phoneColumn);
    } catch (e) {
      if (e instanceof PhoneColumnError) {
        throw ApiError.validation(e.message, { phone_column: [`"${e.phoneColumn}" is not a column of the file (columns: ${e.header.slice(0, 20).join(', ')})`] });
      }
      if (e instanceof CsvFormatError) throw ApiError.badRequest(e.message);
      throw e;
    }
  }

  private async insertCharged(principal: Principal, file: StoredCsv, options: CsvUploadOptions, scan: ScanResult, webhook: ParsedUploadWebhook | null): Promise<Upload> {
    const now = this.clock.now();
    const credits = scan.unique.length;
    const sealed = webhook ? sealUrl(webhook.url, (s) => this.cipher.encrypt(s)) : null; // user info encrypted at rest
    const upload = this.newRow(principal, file, { ...options, source: options.source ?? 'api' }, now, {
      status: 'ready_for_processing',
      phoneColumn: scan.header[scan.phoneIndex],
      ...scanCounts(scan),
      creditsCharged: credits,
      webhook: webhook ? { url: sealed!.url, delay: webhook.delay } : null,
      webhookSecretEncrypted: webhook?.secret ? this.cipher.encrypt(webhook.secret) : null,
      webhookCredentialsEncrypted: sealed?.credentialsEncrypted ?? null,
    });
    // Read before the transaction: inside it, every statement must go through `m` (a second pooled connection
    // taken while this one holds the organization's row lock can exhaust the pool under concurrent uploads).
    const dailyRowLimit = (await this.auth.getOrganization(principal.organizationId))?.dailyRowLimit ?? null;
    await this.db.transaction(async (m) => {
      // The conditional charge comes first: on PostgreSQL it locks the organization's row until commit, so
      // concurrent uploads of one organization pass this point one at a time and the daily total read below
      // includes every upload committed before (read-then-flag without the lock let them all see the same total).
      if (!(await this.auth.chargeCredits(m, principal.organizationId, credits))) {
        throw new ApiError(HttpStatus.PAYMENT_REQUIRED, 'Insufficient credits');
      }
      if (dailyRowLimit != null) {
        const today = await this.repo.acceptedRowsSince(m, principal.organizationId, startOfUtcDay(now));
        upload.exceededDailyLimit = today + credits > dailyRowLimit;
      }
      await this.repo.insert(m, upload);
      await this.events.publish(m, upload.organizationId, 'upload.created', { upload: uploadEventData(upload) }, { uploadId: upload.id });
    });
    return upload;
  }
}

function scanCounts(scan: ScanResult): Pick<Upload, 'totalRows' | 'validRowCount' | 'invalidRowCount' | 'duplicateRowCount' | 'creditsRequired'> {
  return {
    totalRows: scan.totalRows,
    validRowCount: scan.unique.length,
    invalidRowCount: scan.invalidRows,
    duplicateRowCount: scan.duplicateRows,
    creditsRequired: scan.unique.length,
  };
}

export function startOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

interface ListRows {
  columns: string[];
  rows: Generator<string[]>;
}

function phoneRows(list: unknown[]): ListRows {
  list.forEach((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number') throw ApiError.validation(`phone_numbers[${i}] must be a string`, { [`phone_numbers[${i}]`]: ['must be a string'] });
  });
  return {
    columns: ['phone'],
    rows: (function* () {
      yield ['phone'];
      for (const v of list) yield [String(v)];
    })(),
  };
}

function contactRows(list: unknown[]): ListRows {
  const columns = ['phone'];
  const seen = new Set(columns);
  list.forEach((c, i) => {
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw ApiError.validation(`contacts[${i}] must be an object`, { [`contacts[${i}]`]: ['must be an object'] });
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw ApiError.validation(`contacts[${i}].${k} must be a string or a number`, { [`contacts[${i}].${k}`]: ['must be a string or a number'] });
      }
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
    if (typeof (c as Record<string, unknown>).phone !== 'string') {
      throw ApiError.validation(`contacts[${i}].phone is required`, { [`contacts[${i}].phone`]: ['is required and must be a string'] });
    }
  });
  return {
    columns,
    rows: (function* () {
      yield columns;
      for (const c of list as Array<Record<string, string | number>>) yield columns.map((k) => (c[k] === undefined ? '' : String(c[k])));
    })(),
  };
}
