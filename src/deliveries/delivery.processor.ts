import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from '../common/clock';
import { newWorkerId } from '../common/leased-worker';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import { AttemptOutcome, ClaimedDelivery, DeliveriesRepository, EndpointTarget } from './deliveries.repository';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliverySender, PreparedAttempt, SecretUnavailableError } from './delivery-sender.service';
import { DeliveryWaker } from './delivery-waker';
import { endpointBookkeeping } from './endpoint-bookkeeping';

const LEASE_CHECK_INTERVAL_MS = 5_000;
/** How long settled outcomes may wait for company before they are recorded (see settleBatch). */
const BATCH_WAIT_MS = 20;
/** No attempt settled for this long: the rest on the wire is slow, record what has settled (see settleBatch). */
const QUIET_MS = 2;
/** A batched write that fails (a deadlock, a dropped connection) is tried this many times before it waits for the next flush. */
const FLUSH_ATTEMPTS = 3;
/**
 * At most this many outcomes per recording transaction: on SQLite the write is synchronous, and one bounded
 * transaction takes a few milliseconds, so sockets that are ready are never starved for long.
 */
const FLUSH_MAX = 256;
/** Ciphertexts already reported as undecryptable: each is logged once, not once per attempt. */
const LOGGED_SECRETS_MAX = 1024;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Drains due deliveries (SPEC §6.6). The scheduled tick and the outbox's wake-up only call
 * processDueDeliveries(); tests call it directly. One drain runs at a time: a call during a drain asks it to
 * look again and resolves when that drain ends.
 *
 * The drain keeps up to `globalConcurrency` attempts on the wire: whenever some finish, their outcomes are
 * recorded in one transaction and the freed slots are claimed again in one statement. The per-endpoint bound is
 * enforced by the claim itself (in-flight rows count against their endpoint, or a per-request target's origin),
 * so it holds across instances and a slow receiver only ever occupies its own slots. Sending is DeliverySender's
 * job, the endpoint bookkeeping is endpointBookkeeping(), the series are DeliveryMetrics'.
 */
@Injectable()
export class DeliveryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly workerId = newWorkerId();
  private claimSeq = 0;
  private draining: Promise<void> | null = null;
  private again = false;
  /** Counts the wake-ups that arrive during a drain (see settleBatch). */
  private wakeups = 0;
  private stopping = false;
  private inFlight = 0;
  private readonly activeTokens = new Map<string, number>();
  private outcomes: AttemptOutcome[] = [];
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly loggedSecrets = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly repo: DeliveriesRepository,
    private readonly db: DatabaseService,
    private readonly webhooks: WebhooksService,
    private readonly sender: DeliverySender,
    private readonly metrics: DeliveryMetrics,
    private readonly clock: Clock,
    private readonly waker: DeliveryWaker,
  ) {}

  /** The tick, and the wake-ups (in-process, and on PostgreSQL LISTEN): only once the application is up. */
  onApplicationBootstrap(): void {
    if (!this.config.delivery.processorEnabled) return;
    const run = () => void this.processDueDeliveries().catch((e) => this.logger.error({ err: e }, 'delivery drain failed'));
    this.waker.listen(run);
    this.timer = setInterval(run, this.config.delivery.tickMs);
    this.timer.unref();
  }

  processDueDeliveries(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.draining) {
      // new work while attempts are on the wire: the drain must claim it now, not when a slow attempt settles
      this.again = true;
      this.wakeups++;
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
        // Attempts sent but not yet recorded count against the bound too: after a crash those are the ones sent
        // again, so at most `globalConcurrency` attempts can ever be duplicated. Slots are refilled only once every
        // settled outcome is recorded, in the same transaction as the last of them.
        const free = this.outcomes.length > FLUSH_MAX ? 0 : Math.max(0, this.config.delivery.globalConcurrency - this.inFlight);
        const limit = Math.min(this.config.delivery.batchSize, free);
        const claimed = await this.recordAndClaim(limit);
        if (claimed.length) await this.dispatch(claimed);
        else if (this.inFlight === 0 && !this.outcomes.length) break;
        // Only the batch size cut this claim short: claim more at once.
        if (claimed.length === limit && limit < free) continue;
        // What was just sent settles within a round trip: wait for it (see settleBatch) so that the next commit
        // records it and refills its slots, instead of recording only what settled during the last commit.
        if (claimed.length) await this.settleBatch();
        // Nothing was due and only slow attempts are on the wire: wait for one of them, or for new work (a
        // publish's wake-up, the tick), instead of committing an empty claim every few milliseconds until they end.
        else if (!this.outcomes.length) await this.nextSettle();
      }
    } while (this.again && !this.stopping);
  }

  private async dispatch(claims: ClaimedDelivery[]): Promise<void> {
    const endpointIds = [...new Set(claims.map((c) => c.webhookEndpointId).filter((id): id is string => !!id))];
    const [payloads, endpoints] = await Promise.all([
      this.repo.loadPayloads([...new Set(claims.map((c) => c.eventId))]),
      this.repo.loadEndpointTargets(endpointIds),
    ]);
    const nowMs = this.clock.nowMs();
    for (const claim of claims) {
      const endpoint = claim.webhookEndpointId ? endpoints.get(claim.webhookEndpointId) : undefined;
      const body = payloads.get(claim.eventId);
      if ((claim.webhookEndpointId && !endpoint) || !body) {
        // The endpoint was deleted after the claim: its delete already exhausted the row.
        this.finishToken(claim.token);
        continue;
      }
      const prepared = this.prepare(claim, endpoint, body, nowMs);
      if (!prepared) continue;
      this.inFlight++;
      const sending = 'outcome' in prepared ? Promise.resolve(prepared.outcome) : this.sender.send(prepared);
      void sending
        .then(
          (outcome) => {
            this.metrics.attempted(claim, outcome);
            this.outcomes.push(outcome);
          },
          (e) => this.logger.error({ err: e, deliveryId: claim.id }, 'delivery attempt failed unexpectedly'),
        )
        .finally(() => {
          this.inFlight--;
          this.finishToken(claim.token);
          this.wakeWaiters();
        });
    }
  }

  /**
   * The attempt ready to send; or, when its signing secret no longer decrypts, the failed attempt that sends
   * nothing (it follows the schedule to exhausted instead of being re-claimed every lease forever); or null for
   * a URL that does not parse (logged; the row stays in flight until its lease expires).
   */
  private prepare(claim: ClaimedDelivery, endpoint: EndpointTarget | undefined, body: Buffer, nowMs: number): PreparedAttempt | { outcome: AttemptOutcome } | null {
    const rawUrl = endpoint ? endpoint.url : claim.targetUrl;
    try {
      const target = this.sender.target(rawUrl, endpoint ? endpoint.urlCredentialsEncrypted : claim.targetCredentialsEncrypted);
      const secrets = endpoint ? this.sender.endpointSecrets(endpoint, nowMs) : this.sender.requestSecrets(claim.targetSecretEncrypted);
      return { claim, target, secrets, body };
    } catch (e) {
      if (e instanceof SecretUnavailableError) {
        this.logSecretOnce(e, claim);
        return { outcome: this.sender.unavailable(claim, rawUrl) };
      }
      this.logger.error({ err: e, deliveryId: claim.id }, 'could not prepare a delivery attempt');
      this.finishToken(claim.token);
      return null;
    }
  }

  private logSecretOnce(e: SecretUnavailableError, claim: ClaimedDelivery): void {
    if (this.loggedSecrets.has(e.ciphertext)) return;
    if (this.loggedSecrets.size >= LOGGED_SECRETS_MAX) this.loggedSecrets.clear();
    this.loggedSecrets.add(e.ciphertext);
    this.logger.error(
      { deliveryId: claim.id, endpointId: claim.webhookEndpointId },
      'signing secret unavailable (it no longer decrypts under SECRETS_ENCRYPTION_KEY); its deliveries fail until exhausted',
    );
  }

  /**
   * Records finished attempts (at most FLUSH_MAX) with the endpoints' bookkeeping for the outcomes that were
   * applied, and claims up to `claimLimit` due deliveries for the slots they freed, in one transaction: a commit is
   * the largest single cost of a drain on SQLite (a WAL write of every page touched), so recording and refilling
   * share one. Rows are locked in a fixed order (deliveries by id, then endpoints by id; the claim skips locked
   * rows): two instances flushing results for the same endpoints at once must not deadlock. A failed write is
   * retried, and if it still fails the batch is kept for the next flush: an outcome dropped here would leave its
   * row in flight until the lease expires and the same attempt would be sent again.
   */
  private async recordAndClaim(claimLimit: number): Promise<ClaimedDelivery[]> {
    const batch = this.outcomes.splice(0, FLUSH_MAX);
    if (!batch.length && claimLimit <= 0) return [];
    const end = batch.length ? this.metrics.batchTimer() : null;
    const sorted = [...batch].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0));
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const token = `${this.workerId}:${++this.claimSeq}`;
      try {
        const claimed = await this.db.transaction(async (m) => {
          if (sorted.length) {
            const applied = await this.repo.recordOutcomes(m, sorted, now);
            await this.webhooks.recordResults(m, endpointBookkeeping(sorted, applied), now);
          }
          if (claimLimit <= 0) return [];
          const { leaseMs, perEndpointConcurrency: perEndpoint } = this.config.delivery;
          return this.repo.claimDue({ now: now.getTime(), limit: claimLimit, leaseMs, token, perEndpoint }, m);
        });
        end?.();
        if (claimed.length) this.activeTokens.set(token, claimed.length);
        return claimed;
      } catch (e) {
        if (attempt < FLUSH_ATTEMPTS) {
          this.logger.warn(`recording ${batch.length} delivery outcome(s) and claiming failed (${(e as Error).message}); retrying`);
          await delay(20 * attempt);
          continue;
        }
        this.outcomes.unshift(...batch);
        throw e;
      }
    }
  }

  /**
   * Waits for attempts to settle, so that their outcomes are recorded and their slots re-claimed in batches: until
   * everything on the wire has settled, nothing more has settled for QUIET_MS (what is left is slow: a receiver that
   * takes its time, or never answers), or BATCH_WAIT_MS have passed. A drain's commit is a fixed cost (SQLite
   * writes every page it touched; PostgreSQL pays a round trip per statement, ten per commit), so each one should
   * record and refill as many slots as it can. Without the wait, a commit recorded only what settled while the
   * one before it ran, and attempts sent just before it waited a whole commit more: half of the bound sat idle.
   * One transaction per settled attempt made the database, not the receivers, the limit
   * (bench/deliveries.bench.ts measured 150/s that way).
   */
  private async settleBatch(): Promise<void> {
    if (this.outcomes.length >= FLUSH_MAX) return;
    const deadline = Date.now() + BATCH_WAIT_MS;
    const wakeups = this.wakeups;
    let settled = this.outcomes.length;
    while (this.inFlight > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const quiet = await Promise.race([this.nextSettle().then(() => false), delay(Math.min(left, QUIET_MS)).then(() => true)]);
      // A quiet spell before anything has settled is the first round trip still under way (128 requests take the
      // receivers longer than QUIET_MS), not a slow receiver: ending the wait then committed a transaction for the
      // one attempt that settled next, every other turn (bench/deliveries.bench.ts: 220 one-row claims in a 32,000-
      // delivery drain). New work to claim still ends it.
      if (quiet && this.outcomes.length === settled && (settled > 0 || this.wakeups !== wakeups)) break;
      settled = this.outcomes.length;
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
    if (this.timer) clearInterval(this.timer);
    // a drain waiting for a slow attempt to settle stops waiting
    this.wakeWaiters();
    const deadline = Date.now() + this.config.delivery.shutdownGraceMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await Promise.race([this.nextSettle(), delay(100)]);
    }
    try {
      while (this.outcomes.length) await this.recordAndClaim(0);
      const released = await this.repo.releaseLeases([...this.activeTokens.keys()], this.clock.nowMs());
      if (released) this.logger.warn(`released ${released} unfinished delivery lease(s) on shutdown`);
    } catch (e) {
      this.logger.error({ err: e }, 'could not record outcomes on shutdown; leases will expire');
    }
    await this.sender.close();
  }
}
