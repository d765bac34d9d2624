import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter } from 'prom-client';
import { Clock, startOfUtcDay } from '../common/clock';
import { LeasedWorker } from '../common/leased-worker';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { dataRows, firstOccurrences, numberToE164, scanPhoneList } from './csv/phone-list-scanner';
import { PHONE_CLASSIFIER, PhoneClassifier } from './phone/phone-classifier';
import { ResultFiles, ResultPaths } from './result-files';
import { FILE_STORAGE, FileStorage } from './storage/file-storage';
import { UploadLifecycle } from './upload-lifecycle';
import { Upload } from './upload.entity';
import { UploadsRepository } from './uploads.repository';

const CLASSIFY_CHUNK = 2000;

/**
 * Turns `ready_for_processing` uploads into result files (SPEC §4.6). Like the DeliveryProcessor, the tick only
 * calls processDueUploads(); a run claims one upload at a time under a lease, so a crashed run's upload is
 * picked up again once the lease expires, and a cancel racing the claim has exactly one winner.
 */
@Injectable()
export class UploadProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadProcessor.name);
  private readonly worker: LeasedWorker;
  private readonly processed: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: UploadsRepository,
    private readonly lifecycle: UploadLifecycle,
    private readonly clock: Clock,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @Inject(PHONE_CLASSIFIER) private readonly classifier: PhoneClassifier,
    scheduler: SchedulerRegistry,
    metrics: MetricsService,
  ) {
    this.processed = metrics.counter('uploads_processed_total', 'Uploads processed by outcome', ['outcome']);
    const { processorEnabled: enabled, tickMs } = config.upload;
    this.worker = new LeasedWorker({
      name: 'upload-processor',
      scheduler,
      logger: this.logger,
      enabled,
      tickMs,
      step: (token) => this.processNext(token),
      release: (token) => repo.releaseLease(token, clock.nowMs()),
    });
  }

  onApplicationBootstrap(): void {
    this.worker.start();
  }

  /** Processes due uploads one after another until none is due; resolves with how many were finished. */
  processDueUploads(): Promise<number> {
    return this.worker.runUntilIdle();
  }

  private async processNext(token: string): Promise<number | null> {
    const now = this.clock.now();
    const upload = await this.repo.claimNext({ now: now.getTime(), startOfDay: startOfUtcDay(now).getTime(), leaseMs: this.config.upload.leaseMs, token });
    if (!upload) return null;
    try {
      await this.lifecycle.complete(upload, token, await this.produceFiles(upload, token));
      this.processed.inc({ outcome: 'completed' });
    } catch (e) {
      this.logger.warn({ uploadId: upload.id, err: { message: (e as Error).message } }, 'upload processing failed');
      await this.lifecycle.fail(upload, token, e);
      this.processed.inc({ outcome: 'failed' });
    }
    return 1;
  }

  /** Two passes over the stored original: distinct valid numbers first, then one output row per first occurrence. */
  private async produceFiles(upload: Upload, token: string): Promise<ResultPaths> {
    const scan = await scanPhoneList(this.storage.read(upload.storagePath), upload.phoneColumn ?? 'phone');
    const files = await ResultFiles.open(this.storage, upload.id, [...scan.header, 'phone_e164', 'line_type', 'optimaldial_status']);
    try {
      const firstOf = firstOccurrences(scan);
      let chunk: Array<{ row: string[]; e164: string }> = [];
      for await (const row of dataRows(this.storage.read(upload.storagePath))) {
        const n = firstOf(row);
        if (n === null) continue;
        chunk.push({ row, e164: numberToE164(n) });
        if (chunk.length < CLASSIFY_CHUNK) continue;
        await this.classifyInto(files, chunk, upload, token);
        chunk = [];
      }
      if (chunk.length) await this.classifyInto(files, chunk, upload, token);
    } catch (e) {
      await files.abort(e);
      throw e;
    }
    return files.close();
  }

  /** One classifier call per chunk; the lease is extended after each, so a long list keeps its claim. */
  private async classifyInto(files: ResultFiles, chunk: Array<{ row: string[]; e164: string }>, upload: Upload, token: string): Promise<void> {
    const classes = await this.classifier.classify(
      chunk.map((c) => c.e164),
      { skipMobileLookup: upload.skipMobileLookup },
    );
    for (let i = 0; i < chunk.length; i++) {
      await files.add([...chunk[i].row, chunk[i].e164, classes[i].line_type, classes[i].status], classes[i].status === 'Likely Answer');
    }
    await this.repo.extendLease(upload.id, token, this.clock.nowMs() + this.config.upload.leaseMs);
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.worker.shutdown();
  }
}
