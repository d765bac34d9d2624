import { Injectable, Logger } from '@nestjs/common';
import { PgNotifications } from '../database/pg-notifications';

export const DELIVERIES_CHANNEL = 'od_deliveries';

/**
 * Wakes the delivery processor when deliveries are enqueued, without the outbox depending on the processor
 * (which may be switched off on API-only instances; then nothing listens in-process).
 * In-process the wake is a direct call; on PostgreSQL it is also a NOTIFY, so whichever instance is free
 * picks the delivery up at once rather than at its next tick.
 */
@Injectable()
export class DeliveryWaker {
  private readonly logger = new Logger(DeliveryWaker.name);
  private listener: (() => void) | null = null;

  constructor(private readonly notifications: PgNotifications) {}

  listen(fn: () => void): void {
    this.listener = fn;
    this.notifications.listen(DELIVERIES_CHANNEL, fn).catch((e) => this.logger.warn(`cannot LISTEN for deliveries: ${(e as Error).message}; the tick remains`));
  }

  wake(): void {
    this.listener?.();
    this.notifications.notify(DELIVERIES_CHANNEL);
  }
}
