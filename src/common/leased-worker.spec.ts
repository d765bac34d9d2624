import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { LeasedWorker } from './leased-worker';

function worker(results: Array<number | null>, seen: string[] = []) {
  const queue = [...results];
  const w: LeasedWorker = new LeasedWorker({
    name: 'test-worker',
    scheduler: new SchedulerRegistry(),
    logger: new Logger('test'),
    enabled: false,
    tickMs: 1000,
    release: async () => undefined,
    step: async (token) => {
      seen.push(`${token === w.activeToken ? 'active' : 'not active'} ${token.slice(w.id.length)}`);
      await new Promise((r) => setImmediate(r));
      return queue.length ? queue.shift()! : null;
    },
  });
  return w;
}

describe('LeasedWorker', () => {
  it.each([
    [[null], 0],
    [[3, null], 3],
    [[1, 0, 2, null], 3], // a step that found work but finished nothing (lease lost) does not end the run
  ])('runs steps %j until one finds nothing: resolves with %i', async (results, total) => {
    expect(await worker(results).runUntilIdle()).toBe(total);
  });

  it('gives each step its own token, held as activeToken while it runs', async () => {
    const seen: string[] = [];
    const w = worker([1, 1, null], seen);
    await w.runUntilIdle();
    expect(seen).toEqual(['active :1', 'active :2', 'active :3']);
    expect(w.activeToken).toBeNull();
  });

  it('concurrent calls share one run', async () => {
    const seen: string[] = [];
    const w = worker([2, null], seen);
    expect(await Promise.all([w.runUntilIdle(), w.runUntilIdle()])).toEqual([2, 2]);
    expect(seen).toHaveLength(2);
  });

  it('after stop() no new step starts', async () => {
    const w = worker([1, 1, 1, null]);
    w.stop();
    expect(await w.runUntilIdle()).toBe(0);
  });
});
