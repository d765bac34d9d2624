import { waitFor } from '../../test/support/poll';
import { TestClock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { AddressPolicy } from '../net/safe-lookup';
import { MetricsService } from '../ops/metrics.service';
import { SecretCipher } from '../crypto/secret-cipher';
import { WebhooksService } from '../webhooks/webhooks.service';
import { AttemptOutcome, ClaimedDelivery, DeliveriesRepository } from './deliveries.repository';
import { sendOnce } from './delivery-sender';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliverySender } from './delivery-sender.service';
import { DeliveryWaker } from './delivery-waker';
import { DeliveryProcessor } from './delivery.processor';

jest.mock('./delivery-sender', () => ({ sendOnce: jest.fn() }));
const send = sendOnce as jest.MockedFunction<typeof sendOnce>;

const claim = (id: string, endpoint = 'ep-1'): ClaimedDelivery => ({
  id,
  organizationId: 'org',
  eventId: `evt_${id}`,
  eventType: 'upload.completed',
  webhookEndpointId: endpoint,
  targetUrl: 'https://hooks.example.com/x',
  targetSecretEncrypted: null,
  targetCredentialsEncrypted: null,
  attemptCount: 0,
  scheduleStartedAfter: 0,
  createdAtMs: Date.now(),
  dueAtMs: Date.now(),
  token: '',
});

const stub = () => ({ inc: jest.fn(), observe: jest.fn(), startTimer: () => () => undefined, set: jest.fn() });

function build(claims: Array<() => Promise<ClaimedDelivery[]>>, opts: { failWrites?: number } = {}) {
  const recorded: AttemptOutcome[] = [];
  let calls = 0;
  let failWrites = opts.failWrites ?? 0;
  const repo = {
    releaseExpiredLeases: jest.fn(async () => 0),
    releaseLeases: jest.fn(async () => 0),
    // the repository stamps each claimed row with the claim's lease token
    claimDue: jest.fn(async (o: { token: string }) => (calls < claims.length ? (await claims[calls++]()).map((c) => ({ ...c, token: o.token })) : [])),
    loadEndpointTargets: jest.fn(
      async (ids: string[]) =>
        new Map(ids.map((id) => [id, { id, url: 'https://hooks.example.com/x', secretEncrypted: 'c', previousSecretEncrypted: null, previousSecretExpiresAtMs: null }])),
    ),
    loadPayloads: jest.fn(async (ids: string[]) => new Map(ids.map((id) => [id, Buffer.from('{}')]))),
    recordOutcomes: jest.fn(async (_m: unknown, outcomes: AttemptOutcome[]) => {
      if (failWrites-- > 0) throw new Error('deadlock detected');
      recorded.push(...outcomes);
      return new Set(outcomes.map((o) => o.deliveryId));
    }),
    queueDepth: jest.fn(),
  } as unknown as DeliveriesRepository;
  const webhooks = {
    recordResults: jest.fn(async () => new Set<string>()),
  } as unknown as WebhooksService;
  const db = { transaction: (fn: (m: unknown) => Promise<unknown>) => fn({}) } as unknown as DatabaseService;
  const config = {
    delivery: { timeoutMs: 1000, globalConcurrency: 8, perEndpointConcurrency: 2, batchSize: 4, leaseMs: 60_000, processorEnabled: false, tickMs: 1000, shutdownGraceMs: 0 },
  } as unknown as AppConfig;
  const metrics = { counter: stub, histogram: stub, gauge: stub } as unknown as MetricsService;
  const clock = new TestClock();
  const cipher = { decrypt: () => 's'.repeat(64) } as unknown as SecretCipher;
  const sender = new DeliverySender(config, cipher, clock, new AddressPolicy({ allowHttp: false, allowedCidrs: [] }));
  const processor = new DeliveryProcessor(
    config,
    repo,
    db,
    webhooks,
    sender,
    new DeliveryMetrics(metrics, repo, clock),
    clock,
    new DeliveryWaker({ listen: async () => undefined, notify: () => undefined } as never),
  );
  return { processor, repo, recorded, webhooks };
}

/** 'drained' when the drain ends within 2 s, else 'hung'. */
function settleOrHang(p: Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((r) => (timer = setTimeout(() => r('hung'), 2000)));
  return Promise.race([p.then(() => 'drained'), hung]).finally(() => clearTimeout(timer));
}

/**
 * 'drained' or 'hung', like settleOrHang, on fake time advanced a millisecond at a step: the settle wait's QUIET_MS
 * (2 ms) is then measured in the test's own milliseconds, not in a loaded CI machine's, where the gap between two
 * settles outlasted it once and split a round into several commits (CI: 'bbb', 'b', 'b', …).
 */
async function drainOnFakeTime(processor: DeliveryProcessor): Promise<string> {
  jest.useFakeTimers();
  try {
    let done = false;
    void processor.processDueDeliveries().then(() => (done = true));
    for (let ms = 0; ms < 2000 && !done; ms++) await jest.advanceTimersByTimeAsync(1);
    return done ? 'drained' : 'hung';
  } finally {
    jest.useRealTimers();
  }
}

const ok = { status: 200, errorClass: null, errorMessage: null, body: 'ok', retryAfter: null, durationMs: 1 };

describe('DeliveryProcessor drain loop', () => {
  afterEach(() => send.mockReset());

  it('records an attempt that settles while the next claim is running, instead of waiting forever', async () => {
    send.mockResolvedValue(ok);
    // The second claim finishes only after the first attempt has settled: nothing is in flight any more, but
    // its outcome is still unrecorded.
    const { processor, recorded } = build([async () => [claim('a')], () => new Promise((r) => setTimeout(() => r([]), 30))]);
    expect(await settleOrHang(processor.processDueDeliveries())).toBe('drained');
    expect(recorded.map((o) => [o.deliveryId, o.status])).toEqual([['a', 'delivered']]);
  });

  it('keeps draining when an attempt throws unexpectedly', async () => {
    send.mockRejectedValueOnce(new Error('bug')).mockResolvedValue(ok);
    const { processor, recorded } = build([async () => [claim('a'), claim('b', 'ep-2')]]);
    expect(await settleOrHang(processor.processDueDeliveries())).toBe('drained');
    expect(recorded.map((o) => o.deliveryId)).toEqual(['b']);
  });

  it('retries a failed batched write, locking endpoints in a fixed order', async () => {
    send.mockResolvedValue(ok);
    const { processor, recorded, webhooks } = build([async () => [claim('a', 'ep-9'), claim('b', 'ep-1'), claim('c', 'ep-5')]], { failWrites: 1 });
    expect(await settleOrHang(processor.processDueDeliveries())).toBe('drained');
    expect(recorded.map((o) => o.deliveryId).sort()).toEqual(['a', 'b', 'c']);
    const order = (webhooks.recordResults as jest.Mock).mock.calls.flatMap((c) => c[1].map((r: { endpointId: string }) => r.endpointId));
    expect(order).toEqual(['ep-1', 'ep-5', 'ep-9']);
  });

  it('keeps outcomes it could not record for the next drain instead of dropping them', async () => {
    send.mockResolvedValue(ok);
    const { processor, recorded } = build([async () => [claim('a')]], { failWrites: 3 });
    await expect(processor.processDueDeliveries()).rejects.toThrow('deadlock');
    expect(recorded).toEqual([]);
    expect(await settleOrHang(processor.processDueDeliveries())).toBe('drained');
    expect(recorded.map((o) => o.deliveryId)).toEqual(['a']);
  });

  it('one drain at a time: a call during a drain resolves with it and makes it look again', async () => {
    send.mockResolvedValue(ok);
    const { processor, repo } = build([async () => [claim('a')]]);
    const first = processor.processDueDeliveries();
    const second = processor.processDueDeliveries();
    expect(second).toBe(first);
    await first;
    const claims = (repo.claimDue as jest.Mock).mock.calls.length;
    // after the pass that found nothing more, the extra call made it claim once more
    expect(claims).toBeGreaterThanOrEqual(3);
    const settled = (repo.claimDue as jest.Mock).mock.results.map((r) => r.value);
    expect(await settled[claims - 1]).toEqual([]);
    expect(await settled[claims - 2]).toEqual([]);
  });

  it('waits for what it just sent before the next commit, so one commit records a whole round of attempts', async () => {
    // attempts settle a few milliseconds after they are sent, in the order sent
    send.mockImplementation(() => new Promise((r) => setTimeout(() => r(ok), 1)));
    const round = (prefix: string) => async () => Array.from({ length: 8 }, (_, i) => claim(`${prefix}${i}`, `ep-${i % 4}`));
    const { processor, repo } = build([round('a'), round('b')]);
    expect(await drainOnFakeTime(processor)).toBe('drained');
    const batches = (repo.recordOutcomes as jest.Mock).mock.calls.map((c) => (c[1] as AttemptOutcome[]).map((o) => o.deliveryId[0]).join(''));
    expect(batches).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });

  it('a first round trip longer than the quiet spell is still recorded in one commit, not one attempt first', async () => {
    // nothing settles for 8 ms after the round is sent (QUIET_MS is 2), then everything within a millisecond
    send.mockImplementation(() => new Promise((r) => setTimeout(() => r(ok), 8)));
    const round = (prefix: string) => async () => Array.from({ length: 8 }, (_, i) => claim(`${prefix}${i}`, `ep-${i % 4}`));
    const { processor, repo } = build([round('a'), round('b')]);
    expect(await drainOnFakeTime(processor)).toBe('drained');
    const batches = (repo.recordOutcomes as jest.Mock).mock.calls.map((c) => (c[1] as AttemptOutcome[]).map((o) => o.deliveryId[0]).join(''));
    expect(batches).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });

  it('does not wait on an attempt that never settles: the others are recorded once the wire goes quiet', async () => {
    send.mockImplementation((_d, _url, headers) => (Object.values(headers).includes('slow') ? new Promise(() => undefined) : Promise.resolve(ok)));
    const { processor, recorded } = build([async () => [claim('a'), claim('slow', 'ep-slow'), claim('b', 'ep-2')]]);
    const drain = processor.processDueDeliveries();
    const started = Date.now();
    while (recorded.length < 2 && Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 1));
    expect(recorded.map((o) => o.deliveryId).sort()).toEqual(['a', 'b']);
    expect(Date.now() - started).toBeLessThan(500);
    await processor.beforeApplicationShutdown();
    expect(await settleOrHang(drain)).toBe('drained');
  });

  it('while only a silent attempt is on the wire and nothing is due, it waits instead of committing empty claims', async () => {
    send.mockImplementation(() => new Promise(() => undefined));
    const { processor, repo } = build([async () => [claim('silent', 'ep-silent')]]);
    const claims = () => (repo.claimDue as jest.Mock).mock.calls.length;
    const drain = processor.processDueDeliveries();
    await waitFor(() => claims() >= 2, 500, 'the claim that finds nothing due', 1);
    await new Promise((r) => setTimeout(r, 100));
    // the claim that sent it, and the one that found nothing due: no claim every few milliseconds after that
    expect(claims()).toBe(2);
    // new work wakes it (without the wake-up it would wait for the silent attempt forever)
    void processor.processDueDeliveries();
    await waitFor(() => claims() >= 3, 500, 'the claim the wake-up starts', 1);
    expect(claims()).toBe(3);
    await processor.beforeApplicationShutdown();
    expect(await settleOrHang(drain)).toBe('drained');
  });
});
