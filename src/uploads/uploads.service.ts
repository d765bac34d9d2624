import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { AuthService } from '../auth/auth.service';
import { Organization } from '../auth/organization.entity';
import { ApiError } from '../common/api-error';
import { Clock } from '../common/clock';
import { decodeCursor, Page, toPage } from '../common/cursor';
import { newId } from '../common/ids';
import { Principal } from '../common/principal';
import { ScanResult } from './csv/phone-list-scanner';
import { DownloadKind, SignedUrls } from './signed-urls';
import { StoredCsv, UploadIntake, WebhookTarget } from './upload-intake';
import { UploadLifecycle } from './upload-lifecycle';
import { MIN_VALID_NUMBERS, tooFewNumbers, tooFewNumbersMessage } from './upload-rules';
import { CancelResponseDto, CreateUploadJsonDto, DownloadUrlDto, UploadDto } from './upload.dto';
import { Upload, UploadStatus } from './upload.entity';
import { presentUpload } from './upload.presenter';
import { UploadsRepository } from './uploads.repository';

const DOWNLOAD_TTL_SECONDS = 3600;

export interface CsvUploadOptions {
  phoneColumn: string;
  skipMobileLookup?: boolean;
  /** The §7.1 hash, as an object or JSON-encoded; checked here. */
  webhook?: unknown;
  source?: 'api' | 'web';
}

export interface CreatedUpload {
  upload: UploadDto;
  /** A per-request webhook was given: the API answers 202. */
  accepted: boolean;
}

/** Uploads for the API and for host applications (SPEC §4, §10). Every method answers with response DTOs. */
@Injectable()
export class UploadsService {
  constructor(
    private readonly repo: UploadsRepository,
    private readonly auth: AuthService,
    private readonly intake: UploadIntake,
    private readonly lifecycle: UploadLifecycle,
    private readonly urls: SignedUrls,
    private readonly clock: Clock,
  ) {}

  newStorageKey(): string {
    return this.intake.newStorageKey();
  }

  /**
   * Before reading a byte of the file: an organization without an active subscription gets 403. Returns the
   * organization, which the caller hands on to the create call so one upload reads it once.
   */
  async assertCanUpload(principal: Principal): Promise<Organization> {
    const org = await this.auth.getOrganization(principal.organizationId);
    if (!org || org.subscriptionStatus !== 'active') {
      throw ApiError.forbidden('subscription_required', 'An active subscription is required to create or cancel uploads');
    }
    return org;
  }

  /**
   * SPEC §4.3 for a CSV already in storage: validate, charge, create, publish `upload.created` — the row, the
   * charge and the event in one transaction. On any rejection the stored file is removed. `checked` is the
   * organization assertCanUpload returned for this request, when the caller already asked.
   */
  async createFromStoredCsv(principal: Principal, file: StoredCsv, options: CsvUploadOptions, checked?: Organization): Promise<CreatedUpload> {
    try {
      const org = checked ?? (await this.assertCanUpload(principal));
      const target = await this.intake.webhookTarget(options.webhook);
      const scan = await this.intake.scan(file.storageKey, options.phoneColumn);
      if (scan.unique.length < MIN_VALID_NUMBERS) throw tooFewNumbers(scan.unique.length);
      const row = this.newRow(principal, file, options, { ...scanned(scan), ...target });
      const upload = await this.lifecycle.accept(org, row, (m, accepted) => this.repo.insert(accepted, m));
      return { upload: presentUpload(upload), accepted: target.webhook !== null };
    } catch (e) {
      await this.intake.discard(file.storageKey);
      throw e;
    }
  }

  /** The `application/json` form (already validated, see jsonUploadInput): the list is stored as a CSV, then as above. */
  async createFromJson(principal: Principal, input: CreateUploadJsonDto): Promise<CreatedUpload> {
    const org = await this.assertCanUpload(principal);
    const file = await this.intake.storeList(input);
    return this.createFromStoredCsv(principal, file, { phoneColumn: 'phone', skipMobileLookup: input.skip_mobile_lookup === true, webhook: input.webhook }, org);
  }

  async list(principal: Principal, q: { limit?: number; cursor?: string; status?: UploadStatus }): Promise<Page<UploadDto>> {
    const limit = q.limit ?? 50;
    const rows = await this.repo.list({ organizationId: principal.organizationId, status: q.status, cursor: decodeCursor(q.cursor), limit });
    return toPage(rows, limit, (u) => ({ createdAtMs: u.createdAt.getTime(), id: u.id }), presentUpload);
  }

  async get(principal: Principal, id: string): Promise<UploadDto> {
    return presentUpload(await this.find(principal, id));
  }

  /** SPEC §4.5: before processing only; the refund is atomic with the state change; racing the processor, one wins. */
  async cancel(principal: Principal, id: string): Promise<CancelResponseDto> {
    await this.assertCanUpload(principal); // like every write on /api/v1/uploads (SPEC §4.5)
    const upload = await this.find(principal, id);
    if (!(await this.lifecycle.cancel(upload))) throw await this.invalidState(upload, 'cancelled');
    return { status: 'cancelled', credits_refunded: upload.creditsCharged };
  }

  async downloadUrl(principal: Principal, id: string, kind: DownloadKind): Promise<DownloadUrlDto> {
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
  async startWebUpload(principal: Principal, input: { filename: string; content: Readable | Buffer | string; skipMobileLookup?: boolean }): Promise<UploadDto> {
    await this.assertCanUpload(principal);
    if (!input.filename?.trim()) throw ApiError.validation('filename is required', { filename: ['is required'] });
    const file = await this.intake.storeContent(input.filename.trim(), input.content);
    const upload = this.newRow(principal, file, { skipMobileLookup: input.skipMobileLookup, source: 'web' }, { status: 'pending_mapping' });
    await this.repo.insert(upload);
    return presentUpload(upload);
  }

  /**
   * `pending_mapping` → `validating` → `awaiting_confirmation` (with counts and the credits it will cost) or
   * `validation_failed` (fewer than 100 valid numbers). A column that is not in the header is a 400 and the
   * upload stays `pending_mapping`, so the user can pick another.
   */
  async mapPhoneColumn(principal: Principal, id: string, phoneColumn: string): Promise<UploadDto> {
    const upload = await this.find(principal, id);
    if (!(await this.repo.transition(id, ['pending_mapping'], { status: 'validating', updatedAt: this.clock.now() }))) {
      throw await this.invalidState(upload, 'mapped');
    }
    let scan: ScanResult;
    try {
      scan = await this.intake.scan(upload.storagePath, phoneColumn);
    } catch (e) {
      await this.repo.transition(id, ['validating'], { status: 'pending_mapping', updatedAt: this.clock.now() });
      throw e;
    }
    const enough = scan.unique.length >= MIN_VALID_NUMBERS;
    await this.repo.transition(id, ['validating'], {
      status: enough ? 'awaiting_confirmation' : 'validation_failed',
      ...scanned(scan),
      creditsCharged: 0,
      errorMessage: enough ? null : tooFewNumbersMessage(scan.unique.length),
      updatedAt: this.clock.now(),
    });
    return this.get(principal, id);
  }

  /** `awaiting_confirmation` → `ready_for_processing`: charged (402 when short), flagged, `upload.created` — one transaction. */
  async confirmUpload(principal: Principal, id: string): Promise<UploadDto> {
    const upload = await this.find(principal, id);
    const org = await this.assertCanUpload(principal);
    const accepted = await this.lifecycle.accept(org, { ...upload, updatedAt: this.clock.now() }, async (m, row) => {
      const patch = { status: row.status, creditsCharged: row.creditsCharged, exceededDailyLimit: row.exceededDailyLimit, updatedAt: row.updatedAt };
      if (!(await this.repo.transition(id, ['awaiting_confirmation'], patch, m))) throw await this.invalidState(upload, 'confirmed', m);
    });
    return presentUpload(accepted);
  }

  private async invalidState(upload: Upload, action: string, manager?: Parameters<UploadsRepository['findForOrganization']>[2]): Promise<ApiError> {
    const status = (await this.repo.findForOrganization(upload.organizationId, upload.id, manager))?.status;
    return ApiError.conflict('invalid_state', `The upload cannot be ${action} in status ${status}`, { status });
  }

  private newRow(principal: Principal, file: StoredCsv, options: Pick<CsvUploadOptions, 'skipMobileLookup' | 'source'>, fields: Partial<Upload>): Upload {
    const now = this.clock.now();
    return Object.assign(new Upload(), {
      id: newId(),
      organizationId: principal.organizationId,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      originalFilename: file.filename.slice(0, 255),
      storagePath: file.storageKey,
      phoneColumn: null,
      fileSizeBytes: file.sizeBytes,
      ...scannedNothing,
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
      status: 'ready_for_processing',
      ...fields,
    } satisfies Upload);
  }

  private async find(principal: Principal, id: string): Promise<Upload> {
    const upload = await this.repo.findForOrganization(principal.organizationId, id);
    if (!upload) throw ApiError.notFound('Upload not found');
    return upload;
  }
}

type ScanFields = Pick<Upload, 'phoneColumn' | 'totalRows' | 'validRowCount' | 'invalidRowCount' | 'duplicateRowCount' | 'creditsRequired'>;

const scannedNothing: Omit<ScanFields, 'phoneColumn'> = { totalRows: 0, validRowCount: 0, invalidRowCount: 0, duplicateRowCount: 0, creditsRequired: 0 };

/** What a scan tells the row: the column as the header spells it, the counts, one credit per distinct valid number. */
function scanned(scan: ScanResult): ScanFields {
  return {
    phoneColumn: scan.header[scan.phoneIndex],
    totalRows: scan.totalRows,
    validRowCount: scan.unique.length,
    invalidRowCount: scan.invalidRows,
    duplicateRowCount: scan.duplicateRows,
    creditsRequired: scan.unique.length,
  };
}
