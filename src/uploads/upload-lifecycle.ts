import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { Organization } from '../auth/organization.entity';
import { Clock, startOfUtcDay } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { EventsService, RequestTarget } from '../deliveries/events.service';
import { humanError } from '../common/human-error';
import { ResultPaths } from './result-files';
import { SignedUrls } from './signed-urls';
import { Upload } from './upload.entity';
import { uploadEventData } from './upload.presenter';
import { insufficientCredits } from './upload-rules';
import { UploadsRepository } from './uploads.repository';

const EVENT_URL_TTL_SECONDS = 24 * 3600;

/**
 * Every change of an upload that is more than one statement, each in one transaction with what it implies:
 * accepted (charge, daily-limit flag, row, `upload.created`), cancelled (state, refund), completed and failed
 * (state, `upload.completed` / `upload.failed`). Single-statement changes go to the repository directly.
 */
@Injectable()
export class UploadLifecycle {
  constructor(
    private readonly db: DatabaseService,
    private readonly repo: UploadsRepository,
    private readonly auth: AuthService,
    private readonly events: EventsService,
    private readonly urls: SignedUrls,
    private readonly clock: Clock,
  ) {}

  /**
   * The one way an upload becomes `ready_for_processing`, for the API path (a new row) and the web flow's
   * confirmation (an existing row): charge its credits (402 when short), flag it when it passes the organization's
   * daily row limit, store it with `store`, publish `upload.created`. `store` throws to refuse (the charge is undone).
   * `upload.updatedAt` is the moment of acceptance (the caller's "now"): its UTC day is the one the limit counts.
   */
  async accept(organization: Organization, upload: Upload, store: (m: EntityManager, accepted: Upload) => Promise<void>): Promise<Upload> {
    const now = upload.updatedAt;
    return this.db.transaction(async (m) => {
      // The conditional charge comes first: on PostgreSQL it locks the organization's row until commit, so
      // concurrent uploads of one organization pass this point one at a time and the daily total read below
      // includes every upload committed before (read-then-flag without the lock let them all see the same total).
      if (!(await this.auth.chargeCredits(m, organization.id, upload.creditsRequired))) throw insufficientCredits();
      const limit = organization.dailyRowLimit;
      const exceededDailyLimit = limit != null && (await this.repo.acceptedRowsSince(organization.id, startOfUtcDay(now), m)) + upload.validRowCount > limit;
      const accepted = Object.assign(new Upload(), upload, { status: 'ready_for_processing', creditsCharged: upload.creditsRequired, exceededDailyLimit });
      await store(m, accepted);
      await this.events.publish(m, organization.id, 'upload.created', { upload: uploadEventData(accepted) }, { uploadId: upload.id });
      return accepted;
    });
  }

  /** SPEC §4.5: the refund is atomic with the state change; racing the processor, one wins (false: this call lost). */
  cancel(upload: Upload): Promise<boolean> {
    const now = this.clock.now();
    return this.db.transaction(async (m) => {
      const ok = await this.repo.cancel(upload.id, { status: 'cancelled', creditsRefunded: upload.creditsCharged, updatedAt: now }, m);
      if (ok) await this.auth.refundCredits(m, upload.organizationId, upload.creditsCharged);
      return ok;
    });
  }

  async complete(upload: Upload, token: string, paths: ResultPaths): Promise<void> {
    const now = this.clock.now();
    const processed = this.urls.sign(upload.id, 'processed', EVENT_URL_TTL_SECONDS);
    const filtered = this.urls.sign(upload.id, 'processed-filtered', EVENT_URL_TTL_SECONDS);
    const done = { ...upload, status: 'completed' as const, completedAt: now };
    const requestTarget = await this.requestTarget(upload); // read outside the transaction: inside, only `m` is used
    await this.db.transaction(async (m) => {
      const patch = { status: 'completed' as const, processedStoragePath: paths.processed, processedFilteredStoragePath: paths.filtered, completedAt: now, updatedAt: now };
      if (!(await this.repo.finish(upload.id, token, patch, m))) return; // the lease was lost (another run took over): that run reports
      const downloads = { processed: processed.url, processed_filtered: filtered.url, expires_at: processed.expiresAt };
      const data = { upload: { ...uploadEventData(done), completed_at: now.toISOString(), downloads } };
      await this.events.publish(m, upload.organizationId, 'upload.completed', data, { uploadId: upload.id, requestTarget });
    });
  }

  async fail(upload: Upload, token: string, error: unknown): Promise<void> {
    const now = this.clock.now();
    const message = humanError(error);
    const requestTarget = await this.requestTarget(upload);
    await this.db.transaction(async (m) => {
      if (!(await this.repo.finish(upload.id, token, { status: 'failed', errorMessage: message, completedAt: now, updatedAt: now }, m))) return;
      const data = { upload: { ...uploadEventData({ ...upload, status: 'failed' }) }, error_message: message };
      await this.events.publish(m, upload.organizationId, 'upload.failed', data, { uploadId: upload.id, requestTarget });
    });
  }

  private async requestTarget(upload: Upload): Promise<RequestTarget | null> {
    if (!upload.webhook) return null;
    return { url: upload.webhook.url, delaySeconds: upload.webhook.delay, ...(await this.repo.findWebhookSecrets(upload.id)) };
  }
}
