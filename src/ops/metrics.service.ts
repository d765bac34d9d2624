import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per application instance (not prom-client's global one), so several apps in one process
 * — the e2e suites — do not collide. Feature modules register their own metrics on it.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return (this.registry.getSingleMetric(name) as Counter) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[] = [], collect?: (this: Gauge) => Promise<void> | void): Gauge {
    return (this.registry.getSingleMetric(name) as Gauge) ?? new Gauge({ name, help, labelNames, registers: [this.registry], collect });
  }

  histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram {
    return (this.registry.getSingleMetric(name) as Histogram) ?? new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
