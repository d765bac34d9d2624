import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { Clock } from '../common/clock';
import { MetricsService } from '../ops/metrics.service';
import { AttemptOutcome, ClaimedDelivery, DeliveriesRepository } from './deliveries.repository';

/** The delivery engine's Prometheus series (SPEC §9), registered once. */
@Injectable()
export class DeliveryMetrics {
  private readonly attempts: Counter;
  private readonly latency: Histogram;
  private readonly batchDuration: Histogram;

  constructor(metrics: MetricsService, repo: DeliveriesRepository, clock: Clock) {
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
  }

  attempted(claim: ClaimedDelivery, o: AttemptOutcome): void {
    const ok = o.status === 'delivered';
    this.attempts.inc({ outcome: ok ? 'delivered' : 'failed', error_class: o.attempt.errorClass ?? (ok ? 'none' : 'secret_unavailable') });
    // measured from when the first attempt was due, so a per-request webhook's requested delay is not latency
    if (o.attempt.attemptNumber === 1) this.latency.observe(Math.max(0, o.attempt.finishedAt.getTime() - Math.max(claim.createdAtMs, claim.dueAtMs)) / 1000);
  }

  /** Starts timing one batched write; call the result when it is done. */
  batchTimer(): () => void {
    const end = this.batchDuration.startTimer();
    return () => void end();
  }
}
