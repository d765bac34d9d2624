import { AttemptOutcome } from './deliveries.repository';
import { EndpointResult } from '../webhooks/webhooks.repository';
import { endpointBookkeeping } from './endpoint-bookkeeping';

const T0 = 1_700_000_000_000;
let seq = 0;

/** `ok@3` = delivered at T0+3 s, `fail@5` = failed at T0+5 s, `410@2` = 410 Gone at T0+2 s; endpoint 'A' unless given. */
function o(spec: string, endpointId: string | null = 'A', deliveryId = `d${++seq}`): AttemptOutcome {
  const [kind, at] = spec.split('@');
  const finishedAt = new Date(T0 + Number(at) * 1000);
  return {
    deliveryId,
    claimToken: 'tok',
    status: kind === 'ok' ? 'delivered' : 'pending',
    nextRetryAt: kind === 'ok' ? null : new Date(T0 + 3600_000),
    endpointId,
    gone: kind === '410',
    attempt: {
      id: `a-${deliveryId}`,
      deliveryId,
      attemptNumber: 1,
      startedAt: finishedAt,
      finishedAt,
      durationMs: 1,
      responseStatus: kind === 'ok' ? 200 : kind === '410' ? 410 : 500,
      errorClass: kind === 'ok' ? null : 'http_status',
      errorMessage: null,
      responseBody: null,
    },
  };
}

const at = (s: number) => new Date(T0 + s * 1000);
const all = (outcomes: AttemptOutcome[]) => new Set(outcomes.map((x) => x.deliveryId));
const r = (endpointId: string, anySuccess: boolean, failuresAfterLastSuccess: number, lastSuccessAt: Date | null, lastFailureAt: Date | null, gone = false): EndpointResult => ({
  endpointId,
  anySuccess,
  failuresAfterLastSuccess,
  lastSuccessAt,
  lastFailureAt,
  gone,
});

describe('endpointBookkeeping', () => {
  it.each<[string, () => { outcomes: AttemptOutcome[]; applied?: Set<string> }, EndpointResult[]]>([
    ['nothing in, nothing out', () => ({ outcomes: [] }), []],
    ['failures only add to the streak', () => ({ outcomes: [o('fail@1'), o('fail@2')] }), [r('A', false, 2, null, at(2))]],
    ['a success resets the streak to the failures after it', () => ({ outcomes: [o('fail@1'), o('ok@2'), o('fail@3')] }), [r('A', true, 1, at(2), at(3))]],
    ['ordered by finish time, not by arrival', () => ({ outcomes: [o('ok@5'), o('fail@1'), o('fail@2')] }), [r('A', true, 0, at(5), null)]],
    ['a 410 anywhere in the batch marks the endpoint gone', () => ({ outcomes: [o('410@1'), o('ok@2')] }), [r('A', true, 0, at(2), null, true)]],
    ['per-request targets keep no bookkeeping', () => ({ outcomes: [o('fail@1', null), o('fail@2', null)] }), []],
    [
      'endpoints come out sorted by id (the lock order)',
      () => ({ outcomes: [o('fail@1', 'C'), o('ok@1', 'A'), o('fail@1', 'B')] }),
      [r('A', true, 0, at(1), null), r('B', false, 1, null, at(1)), r('C', false, 1, null, at(1))],
    ],
    [
      'a late result whose row was re-claimed (not applied) is ignored',
      () => {
        const late = o('fail@9', 'A', 'late');
        const live = [o('ok@1'), o('fail@2')];
        return { outcomes: [...live, late], applied: all(live) };
      },
      [r('A', true, 1, at(1), at(2))],
    ],
    [
      'a late success does not reset a streak it was not applied to',
      () => {
        const late = o('ok@3', 'A', 'late');
        const live = [o('fail@1'), o('fail@2')];
        return { outcomes: [late, ...live], applied: all(live) };
      },
      [r('A', false, 2, null, at(2))],
    ],
    ['an endpoint whose every outcome came late is left alone', () => ({ outcomes: [o('fail@1', 'B', 'late')], applied: new Set() }), []],
  ])('%s', (_name, make, expected) => {
    const { outcomes, applied } = make();
    expect(endpointBookkeeping(outcomes, applied ?? all(outcomes))).toEqual(expected);
  });
});
