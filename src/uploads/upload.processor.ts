import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { stringify, Stringifier } from 'csv-stringify';
import { Counter } from 'prom-client';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { EventsService } from '../deliveries/events.service';
import { MetricsService } from '../ops/metrics.service';
import { csvRows, indexOfSorted, numberToE164, scanPhoneList } from './csv/phone-list-scanner';
import { spreadsheetSafe } from './csv/spreadsheet-safe';
import { PHONE_CLASSIFIER, PhoneClassifier } from './phone/phone-classifier';
import { nanpDigits } from './phone/phone-normalizer';
import { SignedUrls } from './signed-urls';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { Upload } from './upload.entity';
import { uploadEventData } from './upload.presenter';
import { UploadsRepository } from './uploads.repository';
import { startOfUtcDay } from './uploads.service';

const CLASSIFY_CHUNK = 2000;
const EVENT_URL_TTL_SECONDS = 24 * 3600;

/**
 * Turns `ready_for_processing` uploads into result files (SPEC §4.6). Like the DeliveryProcessor, the tick only
 * calls processDueUploads(); a run claims one upload at a time under a lease, so a crashed run's upload is
 * picked up again once the lease expires, and a cancel racing the claim has exactly one winner.
 */
@Injectable()
export class UploadProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadProcessor.name);
  private readonly workerId = `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private running: Promise<number> | null = null;
  private stopping = false;
  private seq = 0;
  private currentToken: string | null = null;
  private readonly processed: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: UploadsRepository,
    private readonly db: DatabaseService,
    private readonly events: EventsService,
    private readonly urls: SignedUrls,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @Inject(PHONE_CLASSIFIER) private readonly classifier: PhoneClassifier,
    metrics: MetricsService,
  ) {
    this.processed = metrics.counter('uploads_processed_total', 'Uploads processed by outcome', ['outcome']);
  }

  onApplicationBootstrap(): void {
    if (!this.config.upload.processorEnabled) return;
    const timer = setInterval(() => {
      this.processDueUploads().catch((e) => this.logger.error({ err: e }, 'upload processing failed'));
    }, this.config.upload.tickMs);
    timer.unref();
    this.scheduler.addInterval('upload-processor', timer);
  }

  /** Processes due uploads one after another until none is due; resolves with how many were finished. */
  processDueUploads(): Promise<number> {
    if (this.running) return this.running;
    this.running = (async () => {
      let n = 0;
      while (!this.stopping && (await this.processNext())) n++;
      return n;
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async processNext(): Promise<boolean> {
    const token = `${this.workerId}:${++this.seq}`;
    const now = this.clock.now();
    const upload = await this.repo.claimNext({ now: now.getTime(), startOfDay: startOfUtcDay(now).getTime(), leaseMs: this.config.upload.leaseMs, token });
    if (!upload) return false;
    this.currentToken = token;
    try {
      const paths = await this.produceFiles(upload, token);
      await this.complete(upload, token, paths);
      this.processed.inc({ outcome: 'completed' });
    } catch (e) {
      this.logger.warn({ uploadId: upload.id, err: { message: (e as Error).message } }, 'upload processing failed');
      await this.fail(upload, token, e);
      this.processed.inc({ outcome: 'failed' });
    } finally {
      this.currentToken = null;
    }
    return true;
  }

  /** Two passes over the stored original: distinct valid numbers first, then one output row per first occurrence. */
  private async produceFiles(upload: Upload, token: string): Promise<{ processed: string; filtered: string }> {
    const scan = await scanPhoneList(this.storage.read(upload.storagePath), upload.phoneColumn ?? 'phone');
    const emitted = new Uint8Array(scan.unique.length);
    const processedKey = `results/${upload.id}/processed.csv`;
    const filteredKey = `results/${upload.id}/processed-filtered.csv`;
    const header = [...scan.header, 'phone_e164', 'line_type', 'optimaldial_status'].map(spreadsheetSafe);
    const processed = stringify();
    const filtered = stringify();
    // The stringifiers are the sources themselves: destroying one on error must reach storage.write (a `.pipe()`
    // in between does not forward errors, and the write, and with it the processor, would wait forever).
    const writes = Promise.all([this.storage.write(processedKey, processed), this.storage.write(filteredKey, filtered)]);
    writes.catch(() => undefined); // observed below; a storage error must not go unhandled meanwhile
    try {
      await write(processed, header);
      await write(filtered, header);
      let chunk: Array<{ row: string[]; e164: string }> = [];
      const flush = async () => {
        const classes = await this.classifier.classify(
          chunk.map((c) => c.e164),
          { skipMobileLookup: upload.skipMobileLookup },
        );
        for (let i = 0; i < chunk.length; i++) {
          const out = [...chunk[i].row, chunk[i].e164, classes[i].line_type, classes[i].status].map(spreadsheetSafe);
          await write(processed, out);
          if (classes[i].status === 'Likely Answer') await write(filtered, out);
        }
        chunk = [];
        await this.repo.extendLease(upload.id, token, this.clock.nowMs() + this.config.upload.leaseMs);
      };
      let first = true;
      for await (const row of csvRows(this.storage.read(upload.storagePath))) {
        if (first) {
          first = false;
          continue;
        }
        if (row.length !== scan.header.length) continue;
        // scan.unique holds exactly the distinct valid numbers, so the cheap shape check plus a lookup decides
        // validity here: the metadata check (the expensive part) ran once per row in the scan, not twice
        const digits = nanpDigits(row[scan.phoneIndex]);
        if (!digits) continue;
        const n = Number(digits);
        const idx = indexOfSorted(scan.unique, n);
        if (idx < 0 || emitted[idx]) continue;
        emitted[idx] = 1;
        chunk.push({ row, e164: numberToE164(n) });
        if (chunk.length >= CLASSIFY_CHUNK) await flush();
      }
      if (chunk.length) await flush();
    } catch (e) {
      processed.destroy(e as Error);
      filtered.destroy(e as Error);
      await writes.catch(() => undefined);
      throw e;
    }
    processed.end();
    filtered.end();
    await writes;
    return { processed: processedKey, filtered: filteredKey };
  }

  private async complete(upload: Upload, token: string, paths: { processed: string; filtered: string }): Promise<void> {
    const now = this.clock.now();
    const processed = this.urls.sign(upload.id, 'processed', EVENT_URL_TTL_SECONDS);
    const filtered = this.urls.sign(upload.id, 'processed-filtered', EVENT_URL_TTL_SECONDS);
    const done = { ...upload, status: 'completed' as const, completedAt: now };
    const requestTarget = await this.requestTarget(upload); // read outside the transaction: inside, only `m` is used
    await this.db.transaction(async (m) => {
      const ok = await this.repo.finish(m, upload.id, token, {
        status: 'completed',
        processedStoragePath: paths.processed,
        processedFilteredStoragePath: paths.filtered,
        completedAt: now,
        updatedAt: now,
      });
      if (!ok) return; // the lease was lost (another run took over): that run reports
      const data = {
        upload: {
          ...uploadEventData(done),
          completed_at: now.toISOString(),
          downloads: { processed: processed.url, processed_filtered: filtered.url, expires_at: processed.expiresAt },
        },
      };
      await this.events.publish(m, upload.organizationId, 'upload.completed', data, { uploadId: upload.id, requestTarget });
    });
  }

  private async fail(upload: Upload, token: string, error: unknown): Promise<void> {
    const now = this.clock.now();
    const message = humanError(error);
    const requestTarget = await this.requestTarget(upload);
    await this.db.transaction(async (m) => {
      const ok = await this.repo.finish(m, upload.id, token, { status: 'failed', errorMessage: message, completedAt: now, updatedAt: now });
      if (!ok) return;
      const data = { upload: { ...uploadEventData({ ...upload, status: 'failed' }) }, error_message: message };
      await this.events.publish(m, upload.organizationId, 'upload.failed', data, { uploadId: upload.id, requestTarget });
    });
  }

  private async requestTarget(upload: Upload) {
    if (!upload.webhook) return null;
    return {
      url: upload.webhook.url,
      delaySeconds: upload.webhook.delay,
      secretEncrypted: await this.repo.findWebhookSecret(upload.id),
      credentialsEncrypted: await this.repo.findWebhookCredentials(upload.id),
    };
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.scheduler.doesExist('interval', 'upload-processor')) this.scheduler.deleteInterval('upload-processor');
    const token = this.currentToken;
    if (token) await this.repo.releaseLease(token, this.clock.nowMs()).catch(() => undefined);
  }
}

/** Writes one row, waiting for `drain` under backpressure; rejects (instead of waiting forever) once the stream is dead. */
function write(stream: Stringifier, row: string[]): Promise<void> | void {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(stream.errored ?? new Error('the result file could not be written'));
  if (stream.write(row)) return;
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(stream.errored ?? new Error('the result file could not be written'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', done);
  });
}

/**
 * A human-readable reason for the customer: never a stack trace, never a server path or a raw system error code.
 * Storage failures get a fixed sentence; other errors (a CSV problem, a classifier's own message) keep their
 * first line, with anything that looks like an absolute path removed.
 */
export function humanError(e: unknown): string {
  const err = (e ?? {}) as NodeJS.ErrnoException;
  const msg = e instanceof Error ? e.message : String(e);
  if (err.code === 'ENOENT' || /\bENOENT\b/.test(msg)) return 'Processing failed: the uploaded file is no longer available in storage. Please upload the list again.';
  if ((typeof err.code === 'string' && err.syscall) || /\b(EACCES|EPERM|ENOSPC|EIO|EMFILE|EROFS)\b/.test(msg)) {
    return 'Processing failed: the file storage could not be read or written. Please try again later.';
  }
  const firstLine = msg.split(/\r?\n/)[0].replace(/\s+at\s.*$/s, '');
  const clean = firstLine
    .replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}[\\/]?/g, '<path>')
    .replace(/^(?:[A-Z][A-Za-z]*Error|Error):\s*/, '')
    .trim();
  return `Processing failed: ${(clean || 'an unexpected error occurred').slice(0, 400)}`;
}
