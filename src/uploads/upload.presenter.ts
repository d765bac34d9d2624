import { iso } from '../common/iso';
import { redactCredentials } from '../net/url-policy';
import { UploadDto } from './upload.dto';
import { Upload } from './upload.entity';

/** The SPEC §4.1 object. `webhook` never includes its secret; its URL's user info is masked like an endpoint's. */
export function presentUpload(u: Upload): UploadDto {
  return {
    id: u.id,
    user_id: u.userId,
    organization_id: u.organizationId,
    original_filename: u.originalFilename,
    storage_path: u.storagePath,
    file_size_bytes: u.fileSizeBytes,
    status: u.status,
    valid_row_count: u.validRowCount,
    invalid_row_count: u.invalidRowCount,
    duplicate_row_count: u.duplicateRowCount,
    total_rows: u.totalRows,
    credits_required: u.creditsRequired,
    credits_charged: u.creditsCharged,
    credits_refunded: u.creditsRefunded,
    source: u.source,
    api_key_id: u.apiKeyId,
    skip_mobile_lookup: u.skipMobileLookup,
    processed_storage_path: u.processedStoragePath,
    processed_filtered_storage_path: u.processedFilteredStoragePath,
    error_message: u.errorMessage,
    exceeded_daily_limit: u.exceededDailyLimit,
    webhook: u.webhook ? { url: redactCredentials(u.webhook.url), delay: u.webhook.delay } : null,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
    processing_started_at: iso(u.processingStartedAt),
    completed_at: iso(u.completedAt),
  };
}

/** `data.upload` of the upload.* events (SPEC §6.2). */
export function uploadEventData(u: Upload) {
  return {
    id: u.id,
    source: u.source,
    status: u.status,
    original_filename: u.originalFilename,
    total_rows: u.totalRows,
    valid_row_count: u.validRowCount,
    invalid_row_count: u.invalidRowCount,
    organization_id: u.organizationId,
    created_at: u.createdAt.toISOString(),
  };
}
