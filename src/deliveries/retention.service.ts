import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DeliveriesRepository } from './deliveries.repository';

const BATCH = 1000;

/** SPEC §6.7: history is kept 60 days; older events, deliveries and attempts go in bounded batches. */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    private readonly repo: DeliveriesRepository,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  @Cron(CronExpression.EVERY_DAY_AT_3AM, { name: 'delivery-retention', timeZone: 'UTC' })
  async tick(): Promise<void> {
    if (!this.config.delivery.processorEnabled) return;
    await this.purge().catch((e) => this.logger.error({ err: e }, 'retention failed'));
  }

  /** Returns the number of events deleted. Each batch is its own short transaction so writers are not blocked. */
  async purge(batchSize = BATCH): Promise<number> {
    const cutoff = new Date(this.clock.nowMs() - this.config.delivery.retentionDays * 86_400_000);
    let total = 0;
    for (;;) {
      const n = await this.repo.deleteOlderThan(cutoff, batchSize);
      total += n;
      if (n < batchSize) break;
    }
    if (total) this.logger.log(`retention removed ${total} event(s) older than ${cutoff.toISOString()}`);
    return total;
  }
}
