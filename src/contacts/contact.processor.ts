import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter } from 'prom-client';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { EventsService } from '../deliveries/events.service';
import { MetricsService } from '../ops/metrics.service';
import { PHONE_CLASSIFIER, PhoneClassification, PhoneClassifier, PHONE_STATUSES } from '../uploads/phone/phone-classifier';
import { humanError } from '../common/human-error';
import { LeasedWorker } from '../common/leased-worker';
import { Contact } from './contact.entity';
import { presentContact } from './contact.presenter';
import { ContactOutcome, ContactsRepository } from './contacts.repository';

/**
 * Classifies queued contacts (SPEC §11.5). Like the UploadProcessor, the tick only calls processDueContacts().
 * A run claims a batch under a lease, classifies it through the PhoneClassifier port, and finishes the whole
 * batch in one transaction: each contact's terminal state and its contact.completed / contact.failed event (to
 * subscribed endpoints and to the contact's callback URL) commit together. A crashed run's batch stays
 * `processing` only until its lease expires; the next claim takes it again.
 */
@Injectable()
export class ContactProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ContactProcessor.name);
  private readonly worker: LeasedWorker;
  private readonly processed: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: ContactsRepository,
    private readonly db: DatabaseService,
    private readonly events: EventsService,
    private readonly clock: Clock,
    @Inject(PHONE_CLASSIFIER) private readonly classifier: PhoneClassifier,
    scheduler: SchedulerRegistry,
    metrics: MetricsService,
  ) {
    this.processed = metrics.counter('contacts_processed_total', 'Contacts processed by outcome', ['outcome']);
    const { processorEnabled: enabled, tickMs } = config.contact;
    this.worker = new LeasedWorker({
      name: 'contact-processor',
      scheduler,
      logger: this.logger,
      enabled,
      tickMs,
      step: (token) => this.processBatch(token),
      release: (token) => repo.releaseLease(token, clock.nowMs()),
    });
  }

  onApplicationBootstrap(): void {
    this.worker.start();
  }

  /** Processes batches until nothing is due; resolves with how many contacts this call finished. */
  processDueContacts(): Promise<number> {
    return this.worker.runUntilIdle();
  }

  /** One claimed batch; null when nothing was due. */
  private async processBatch(token: string): Promise<number | null> {
    const batch = await this.repo.claimBatch({ now: this.clock.nowMs(), limit: this.config.contact.batchSize, leaseMs: this.config.contact.leaseMs, token });
    if (!batch.length) return null;
    const outcomes = await this.classify(batch);
    const now = this.clock.now();
    let finished = 0;
    await this.db.transaction(async (m) => {
      const applied = await this.repo.finishBatch(m, token, batch.map((c, i) => ({ id: c.id, outcome: outcomes[i] })), now);
      for (let i = 0; i < batch.length; i++) {
        const c = batch[i];
        const o = outcomes[i];
        if (!applied.has(c.id)) continue; // lease lost (expired and re-claimed): whoever holds it now reports
        finished++;
        const done = Object.assign(new Contact(), c, o, { completedAt: now, updatedAt: now, lockedUntil: null, lockedBy: null });
        const data = { contact: presentContact(done) };
        const requestTarget = c.callbackUrl ? { url: c.callbackUrl, delaySeconds: 0, secretEncrypted: c.callbackSecretEncrypted, credentialsEncrypted: c.callbackCredentialsEncrypted } : null;
        await this.events.publish(m, c.organizationId, o.status === 'completed' ? 'contact.completed' : 'contact.failed', data, { contactId: c.id, requestTarget });
      }
    });
    for (const o of outcomes) this.processed.inc({ outcome: o.status });
    return finished;
  }

  /**
   * One outcome per contact, in order. The port classifies lists; when a whole call fails, each number is tried
   * on its own so one bad number fails alone, with a human-readable message.
   */
  private async classify(batch: Contact[]): Promise<ContactOutcome[]> {
    const numbers = batch.map((c) => c.phone);
    const whole = await this.classifier.classify(numbers, { skipMobileLookup: false }).then(
      (r) => (Array.isArray(r) && r.length === numbers.length ? r : null),
      () => null,
    );
    if (whole) return whole.map(toOutcome);
    const out: ContactOutcome[] = [];
    for (const n of numbers) {
      try {
        const [one] = await this.classifier.classify([n], { skipMobileLookup: false });
        out.push(toOutcome(one));
      } catch (e) {
        out.push(failed(humanError(e, 'Classification failed')));
      }
    }
    return out;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.worker.shutdown();
  }
}

function toOutcome(c: PhoneClassification | undefined): ContactOutcome {
  if (!c || !(PHONE_STATUSES as readonly string[]).includes(c.status) || typeof c.line_type !== 'string') {
    return failed('Classification failed: the classifier returned no usable result for this number.');
  }
  return { status: 'completed', optimaldialStatus: c.status, lineType: c.line_type.slice(0, 32), errorMessage: null };
}

function failed(message: string): ContactOutcome {
  return { status: 'failed', optimaldialStatus: null, lineType: null, errorMessage: message.slice(0, 1000) };
}
