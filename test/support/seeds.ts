import { DatabaseService } from '../../src/database/database.service';
import { WebhooksService } from '../../src/webhooks/webhooks.service';
import { TestApp } from './test-app';

/**
 * State a test needs before it acts, reached through the services the way the running service reaches it (immich's
 * `ctx.newUser()` idea), never by writing rows: a seed then breaks when the rule behind the state changes.
 */

/**
 * An endpoint's failure bookkeeping as the delivery engine records it: `failures` more consecutive failed
 * attempts, the last at `lastFailureAt` (null: unchanged), recorded at `now` — at the threshold (20) the
 * endpoint is auto-disabled with `disabled_at = now`.
 */
export async function recordFailedAttempts(t: TestApp, endpointId: string, failures: number, opts: { lastFailureAt?: Date | null; now?: Date } = {}): Promise<void> {
  const webhooks = t.get(WebhooksService);
  const now = opts.now ?? t.clock.now();
  await t.get(DatabaseService).transaction((m) =>
    webhooks.recordResults(m, [{ endpointId, anySuccess: false, failuresAfterLastSuccess: failures, lastSuccessAt: null, lastFailureAt: opts.lastFailureAt ?? null, gone: false }], now),
  );
}
