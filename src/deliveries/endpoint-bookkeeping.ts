import { EndpointResult } from '../webhooks/webhooks.repository';
import { AttemptOutcome } from './deliveries.repository';

/**
 * Turns a batch of outcomes into endpoint bookkeeping (SPEC §5.7, §6.4): per endpoint, in order of finishing,
 * a success resets the streak to the failures after it, failures add to it, a 410 disables. Only outcomes that
 * were actually applied count (`applied`: the delivery ids recordOutcomes updated): a late result for a row
 * that was re-claimed after its lease expired, or exhausted by its endpoint's deletion, must not count a second
 * time. Per-request targets (no endpoint) keep no bookkeeping. Sorted by endpoint id.
 */
export function endpointBookkeeping(outcomes: readonly AttemptOutcome[], applied: ReadonlySet<string>): EndpointResult[] {
  const byEndpoint = new Map<string, AttemptOutcome[]>();
  for (const o of outcomes) {
    if (!o.endpointId || !applied.has(o.deliveryId)) continue;
    const list = byEndpoint.get(o.endpointId);
    if (list) list.push(o);
    else byEndpoint.set(o.endpointId, [o]);
  }
  return [...byEndpoint.keys()].sort().map((endpointId) => summarize(endpointId, byEndpoint.get(endpointId)!));
}

function summarize(endpointId: string, items: AttemptOutcome[]): EndpointResult {
  const ordered = [...items].sort((a, b) => a.attempt.finishedAt.getTime() - b.attempt.finishedAt.getTime());
  let lastSuccess = -1;
  for (let i = 0; i < ordered.length; i++) if (ordered[i].status === 'delivered') lastSuccess = i;
  const failures = ordered.length - lastSuccess - 1;
  return {
    endpointId,
    anySuccess: lastSuccess >= 0,
    failuresAfterLastSuccess: failures,
    lastSuccessAt: lastSuccess >= 0 ? ordered[lastSuccess].attempt.finishedAt : null,
    lastFailureAt: failures ? ordered[ordered.length - 1].attempt.finishedAt : null,
    gone: ordered.some((o) => o.gone === true),
  };
}
