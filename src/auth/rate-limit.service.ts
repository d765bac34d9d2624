import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { RateLimitCountersRepository } from './rate-limit-counters.repository';

export interface CounterState {
  scope: 'api_key' | 'organization';
  limit: number;
  observed: number;
  resetAtMs: number;
}

/**
 * Fixed one-minute windows counted in the database with one atomic upsert per counter, so every instance on a
 * shared PostgreSQL sees the same numbers (SPEC §3.4). A window starts at the first request after the previous
 * window ended. Rejected requests count too: `observed` is what the client actually sent.
 */
@Injectable()
export class RateLimitService {
  private lastSweepMs = 0;

  constructor(
    private readonly counters: RateLimitCountersRepository,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async hit(apiKeyId: string, organizationId: string): Promise<{ exceeded: CounterState | null; tightest: CounterState }> {
    const now = this.clock.nowMs();
    const { perKeyPerMinute, perOrganizationPerMinute } = this.config.rateLimit;
    const [key, org] = await Promise.all([
      this.increment(`k:${apiKeyId}`, now).then((c) => ({ scope: 'api_key' as const, limit: perKeyPerMinute, ...c })),
      this.increment(`o:${organizationId}`, now).then((c) => ({ scope: 'organization' as const, limit: perOrganizationPerMinute, ...c })),
    ]);
    const exceeded = [key, org].find((c) => c.observed > c.limit) ?? null;
    const tightest = key.limit - key.observed <= org.limit - org.observed ? key : org;
    void this.sweep(now);
    return { exceeded, tightest };
  }

  private async increment(bucket: string, now: number): Promise<{ observed: number; resetAtMs: number }> {
    const windowMs = this.config.rateLimit.windowMs;
    const { count, windowStart } = await this.counters.increment(bucket, now, now - windowMs);
    return { observed: count, resetAtMs: windowStart + windowMs };
  }

  /** Old windows are garbage; delete them now and then instead of letting the table grow with every key. */
  private async sweep(now: number): Promise<void> {
    if (now - this.lastSweepMs < 10 * this.config.rateLimit.windowMs) return;
    this.lastSweepMs = now;
    await this.counters.deleteStartedBefore(now - 2 * this.config.rateLimit.windowMs).catch(() => undefined);
  }
}
