import { Injectable } from '@nestjs/common';

/**
 * In-process wake-up from the outbox to the processor, without the outbox depending on the processor
 * (which may be switched off on API-only instances; then nothing listens and the wake is a no-op).
 */
@Injectable()
export class DeliveryWaker {
  private listener: (() => void) | null = null;

  listen(fn: () => void): void {
    this.listener = fn;
  }

  wake(): void {
    this.listener?.();
  }
}
