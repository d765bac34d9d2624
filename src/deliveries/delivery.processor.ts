import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter, Histogram } from 'prom-client';
import { Dispatcher } from 'undici';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { createSafeDispatcher } from '../net/http-clients';
import { AddressPolicy } from '../net/safe-lookup';
import { MetricsService } from '../ops/metrics.service';
import { SecretCipher } from '../webhooks/secret-cipher';
import { sendingTarget } from '../webhooks/url-credentials';
import { WebhooksService } from '../webhooks/webhooks.service';
import { AttemptOutcome, ClaimedDelivery, DeliveriesRepository } from './deliveries.repository';
import { DeliveryAttempt } from './delivery-attempt.entity';
import { sendOnce } from './delivery-sender';
import { DeliveryWaker } from './delivery-waker';
import { nextAttemptAt } from './retry-schedule';
import { buildDeliveryHeaders } from './signer';

const LEASE_CHECK_INTERVAL_MS = 5_000;
/** How long settled outcomes may wait for company before they are recorded (see settleBatch). */
const BATCH_WAIT_MS = 20;
/** A batched write that fails (a deadlock, a dropped connection) is tried this many times before it waits for the next flush. */
const FLUSH_ATTEMPTS = 3;

interface Prepared {
  claim: ClaimedDelivery;
  token: string;
  /** The target as stored (an endpoint's current URL), user info masked: recorded on the delivery. */
  targetUrl: string;
  url: string;
  authorization: string | undefined;
  secrets: string[];
  body: Buffer;
}

/**
 * Drains due deliveries (SPEC §6.6). The scheduled tick and the outbox's wake-up only call
 * processDueDeliveries(); tests call it directly. One drain runs at a time: a call during a drain asks it to
 * look again and resolves when that drain ends.
 *
 * The drain keeps up to `globalConcurrency` attempts on the wire: whenever some finish, their outcomes are
 * recorded in one transaction and the freed slots are claimed again in one statement. The per-endpoint bound is
 * enforced by the claim itself (in-flight rows count against their endpoint), so it holds across instances and a
 * slow receiver only ever occupies its own slots.
 */
@Injectable()
export class DeliveryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly workerId = `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private claimSeq = 0;
  private draining: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private inFlight = 0;
  private readonly activeTokens = new Map<string, number>();
  private outcomes: Array<{ outcome: AttemptOutcome; endpointId: string | null; gone: boolean }> = [];
  private waiters: Array<() => void> = [];
  private readonly dispatcher: Dispatcher;
  private readonly attempts: Counter;
  private readonly latency: Histogram;
  private readonly batchDuration: Histogram;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: DeliveriesRepository,
    private readonly db: DatabaseService,
    private readonly webhooks: WebhooksService,
    private readonly cipher: SecretCipher,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    waker: DeliveryWaker,
    policy: AddressPolicy,
    metrics: MetricsService,
  ) {
    this.dispatcher = createSafeDispatcher(policy, {
      ca: config.delivery.extraCaPem ?? undefined,
      connectTimeoutMs: config.delivery.timeoutMs,
      // The pool is per origin, and many endpoints (of many organizations) may share one origin. The per-endpoint
      // bound is enforced by the claim; capping the pool at that bound too would queue a healthy endpoint's
      // requests behind a slow endpoint on the same host, burning their deadline while they wait.
      connections: config.delivery.globalConcurrency,
    });
    this.attempts = metrics.counter('webhook_delivery_attempts_total', 'Delivery attempts by outcome and error class', ['outcome', 'error_class']);
    this.latency = metrics.histogram(
      'webhook_delivery_first_attempt_latency_seconds',
      'Time from event creation (or its scheduled delay) to the end of the first attempt',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
    this.batchDuration = metrics.histogram('webhook_delivery_record_batch_seconds', 'Duration of one batched outcome write', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]);
    metrics.gauge('webhook_delivery_queue_depth', 'Pending deliveries: due now, held behind inactive endpoints, in flight', ['state'], async function () {
      const d = await repo.queueDepth(clock.nowMs());
      this.set({ state: 'due' }, d.due);
      this.set({ state: 'held' }, d.held);
      this.set({ state: 'in_flight' }, d.inFlight);
    });
    if (config.delivery.processorEnabled) waker.listen(() => void this.processDueDeliveries().catch((e) => this.logger.error(e)));
  }

  onApplicationBootstrap(): void {
    if (!this.config.delivery.processorEnabled) return;
    const timer = setInterval(() => {
      this.processDueDeliveries().catch((e) => this.logger.error({ err: e }, 'delivery drain failed'));
    }, this.config.delivery.tickMs);
    timer.unref();
    this.scheduler.addInterval('delivery-processor', timer);
  }

  processDueDeliveries(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.draining) {
      // new work while attempts are on the wire: the drain must claim it now, not when a slow attempt settles
      this.again = true;
      this.wakeWaiters();
      return this.draining;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    let leasesCheckedAt = -Infinity;
    do {
      this.again = false;
      while (!this.stopping) {
        // A drain under steady load may never end: dead workers' leases are looked at again every few seconds.
        if (this.clock.nowMs() - leasesCheckedAt >= LEASE_CHECK_INTERVAL_MS) {
          leasesCheckedAt = this.clock.nowMs();
          await this.repo.releaseExpiredLeases(leasesCheckedAt);
        }
        if (this.outcomes.length) await this.flush();
        // Attempts sent but not yet recorded count against the bound too: after a crash those are the ones sent
        // again, so at most `globalConcurrency` attempts can ever be duplicated.
        const free = this.config.delivery.globalConcurrency - this.inFlight - this.outcomes.length;
        const claimed = free > 0 ? await this.claim(Math.min(this.config.delivery.batchSize, free)) : [];
        if (claimed.length) {
          await this.dispatch(claimed);
          continue;
        }
        // Attempts may have settled while the claim ran: record them (and look again) rather than wait for a
        // settle that will never come.
        if (this.outcomes.length) continue;
        if (this.inFlight === 0) break;
        await this.settleBatch();
      }
    } while (this.again && !this.stopping);
  }

  private async claim(limit: number): Promise<ClaimedDelivery[]> {
    const token = `${this.workerId}:${++this.claimSeq}`;
    const claims = await this.repo.claimDue({
      now: this.clock.nowMs(),
      limit,
      leaseMs: this.config.delivery.leaseMs,
      token,
      perEndpoint: this.config.delivery.perEndpointConcurrency,
    });
    for (const c of claims) (c as ClaimedDelivery & { token?: string }).token = token;
    if (claims.length) this.activeTokens.set(token, claims.length);
    return claims;
  }

  private async dispatch(claims: ClaimedDelivery[]): Promise<void> {
    const endpointIds = [...new Set(claims.map((c) => c.webhookEndpointId).filter((id): id is string => !!id))];
    const [payloads, endpointTargets, secrets] = await Promise.all([
      this.repo.loadPayloads([...new Set(claims.map((c) => c.eventId))]),
      this.webhooks.sendingTargetsFor(endpointIds),
      this.webhooks.signingSecretsFor(endpointIds),
    ]);
    for (const claim of claims) {
      const token = (claim as ClaimedDelivery & { token: string }).token;
      const endpointTarget = claim.webhookEndpointId ? endpointTargets.get(claim.webhookEndpointId) : undefined;
      const body = payloads.get(claim.eventId);
      if ((claim.webhookEndpointId && !endpointTarget) || !body) {
        // The endpoint was deleted after the claim: its delete already exhausted the row.
        this.finishToken(token);
        continue;
      }
      let prepared: Prepared;
      try {
        const target = this.targetOf(claim, endpointTarget);
        prepared = {
          claim,
          token,
          ...target,
          secrets: claim.webhookEndpointId
            ? (secrets.get(claim.webhookEndpointId) ?? [])
            : claim.targetSecretEncrypted
              ? [this.cipher.decrypt(claim.targetSecretEncrypted)]
              : [],
          body,
        };
      } catch (e) {
        // One unusable row (say, a secret that no longer decrypts) must not stop the rest of the batch; it stays
        // in flight until its lease expires.
        this.logger.error({ err: e, deliveryId: claim.id }, 'could not prepare a delivery attempt');
        this.finishToken(token);
        continue;
      }
      this.inFlight++;
      void this.attempt(prepared)
        .then(
          (outcome) => this.outcomes.push(outcome),
          (e) => this.logger.error({ err: e, deliveryId: claim.id }, 'delivery attempt failed unexpectedly'),
        )
        .finally(() => {
          this.inFlight--;
          this.finishToken(token);
          this.wakeWaiters();
        });
    }
  }

  /**
   * Where an attempt goes: the endpoint's current URL, or the per-request URL of the delivery, with the user info
   * decrypted into a Basic Authorization header (URLs are stored masked, their user info encrypted).
   */
  private targetOf(
    claim: ClaimedDelivery,
    endpointTarget: { storedUrl: string; url: string; authorization: string | undefined } | undefined,
  ): { targetUrl: string; url: string; authorization: string | undefined } {
    if (endpointTarget) return { targetUrl: endpointTarget.storedUrl, url: endpointTarget.url, authorization: endpointTarget.authorization };
    return { targetUrl: claim.targetUrl, ...sendingTarget(claim.targetUrl, claim.targetCredentialsEncrypted, (c) => this.cipher.decrypt(c)) };
  }

  private async attempt(p: Prepared): Promise<{ outcome: AttemptOutcome; endpointId: string | null; gone: boolean }> {
    const attemptNumber = p.claim.attemptCount + 1;
    const startedAt = this.clock.now();
    const headers = buildDeliveryHeaders({
      eventType: p.claim.eventType,
      eventId: p.claim.eventId,
      deliveryId: p.claim.id,
      attempt: attemptNumber,
      timestampSeconds: Math.floor(startedAt.getTime() / 1000),
      body: p.body,
      secrets: p.secrets,
    });
    if (p.authorization) headers['authorization'] = p.authorization;
    const r = await sendOnce(this.dispatcher, p.url, headers, p.body, this.config.delivery.timeoutMs);
    const finishedAt = this.clock.now();
    const ok = r.errorClass === null;
    const next = ok
      ? null
      : nextAttemptAt({ failedAttempt: attemptNumber, scheduleStartedAfter: p.claim.scheduleStartedAfter, nowMs: finishedAt.getTime(), status: r.status, retryAfter: r.retryAfter });
    this.attempts.inc({ outcome: ok ? 'delivered' : 'failed', error_class: r.errorClass ?? 'none' });
    // measured from when the first attempt was due, so a per-request webhook's requested delay is not latency
    if (attemptNumber === 1) this.latency.observe(Math.max(0, finishedAt.getTime() - Math.max(p.claim.createdAtMs, p.claim.dueAtMs)) / 1000);
    const attempt = Object.assign(new DeliveryAttempt(), {
      id: newId(),
      deliveryId: p.claim.id,
      attemptNumber,
      startedAt,
      finishedAt,
      durationMs: r.durationMs,
      responseStatus: r.status,
      errorClass: r.errorClass,
      errorMessage: r.errorMessage,
      responseBody: r.body,
    });
    return {
      outcome: {
        deliveryId: p.claim.id,
        claimToken: p.token,
        targetUrl: p.targetUrl,
        attempt,
        status: ok ? 'delivered' : next === null ? 'exhausted' : 'pending',
        nextRetryAt: next === null ? null : new Date(next),
      },
      endpointId: p.claim.webhookEndpointId,
      gone: r.status === 410,
    };
  }

  /**
   * Records every finished attempt so far in one transaction, with the endpoints' bookkeeping.
   * Rows are locked in a fixed order (deliveries by id, then endpoints by id): two instances flushing results for
   * the same endpoints at once must not deadlock. A failed write is retried, and if it still fails the batch is
   * kept for the next flush: an outcome dropped here would leave its row in flight until the lease expires and
   * the same attempt would be sent again.
   */
  private async flush(): Promise<void> {
    const batch = this.outcomes;
    this.outcomes = [];
    if (!batch.length) return;
    const end = this.batchDuration.startTimer();
    const byEndpoint = new Map<string, typeof batch>();
    for (const item of batch) {
      if (!item.endpointId) continue;
      const list = byEndpoint.get(item.endpointId);
      if (list) list.push(item);
      else byEndpoint.set(item.endpointId, [item]);
    }
    const outcomes = batch.map((b) => b.outcome).sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0));
    const endpoints = [...byEndpoint.keys()].sort();
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      try {
        await this.db.transaction(async (m) => {
          await this.repo.recordOutcomes(m, outcomes, now);
          for (const endpointId of endpoints) {
            const items = byEndpoint.get(endpointId)!;
            items.sort((a, b) => a.outcome.attempt.finishedAt.getTime() - b.outcome.attempt.finishedAt.getTime());
            const lastSuccess = items.map((i) => i.outcome.status === 'delivered').lastIndexOf(true);
            const failures = items.slice(lastSuccess + 1);
            await this.webhooks.recordResults(
              m,
              {
                endpointId,
                anySuccess: lastSuccess >= 0,
                failuresAfterLastSuccess: failures.length,
                lastSuccessAt: lastSuccess >= 0 ? items[lastSuccess].outcome.attempt.finishedAt : null,
                lastFailureAt: failures.length ? failures[failures.length - 1].outcome.attempt.finishedAt : null,
                gone: items.some((i) => i.gone),
              },
              now,
            );
          }
        });
        break;
      } catch (e) {
        if (attempt < FLUSH_ATTEMPTS) {
          this.logger.warn(`recording ${batch.length} delivery outcome(s) failed (${(e as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, 20 * attempt));
          continue;
        }
        this.outcomes.unshift(...batch);
        throw e;
      }
    }
    end();
  }

  /**
   * Waits for attempts to settle, then a little longer so that their outcomes are recorded and their slots
   * re-claimed in batches: until a quarter of the global bound has settled, everything on the wire has, or
   * BATCH_WAIT_MS have passed since the first one. One transaction per settled attempt would make the database,
   * not the receivers, the limit (bench/deliveries.bench.ts measured 150/s that way).
   */
  private async settleBatch(): Promise<void> {
    await this.nextSettle();
    const want = Math.max(1, Math.floor(this.config.delivery.globalConcurrency / 4));
    const deadline = Date.now() + BATCH_WAIT_MS;
    while (this.inFlight > 0 && this.outcomes.length < want) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await Promise.race([this.nextSettle(), new Promise((r) => setTimeout(r, left).unref())]);
    }
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  private nextSettle(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private finishToken(token: string): void {
    const left = (this.activeTokens.get(token) ?? 1) - 1;
    if (left <= 0) this.activeTokens.delete(token);
    else this.activeTokens.set(token, left);
  }

  /** SIGTERM: stop claiming, let attempts on the wire finish up to the grace period, record them, release the rest. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.scheduler.doesExist('interval', 'delivery-processor')) this.scheduler.deleteInterval('delivery-processor');
    const deadline = Date.now() + this.config.delivery.shutdownGraceMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await Promise.race([this.nextSettle(), new Promise((r) => setTimeout(r, 100).unref())]);
    }
    try {
      await this.flush();
      const released = await this.repo.releaseLeases([...this.activeTokens.keys()], this.clock.nowMs());
      if (released) this.logger.warn(`released ${released} unfinished delivery lease(s) on shutdown`);
    } catch (e) {
      this.logger.error({ err: e }, 'could not record outcomes on shutdown; leases will expire');
    }
    await this.dispatcher.destroy().catch(() => undefined);
  }
}
