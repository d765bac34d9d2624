import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

export interface LeasedWorkerOptions {
  /** The interval's name in the SchedulerRegistry, and the label of its log lines. */
  name: string;
  scheduler: SchedulerRegistry;
  logger: Logger;
  /** The config switch (`*_PROCESSOR_ENABLED`): when off, start() registers nothing and the trigger is only called by hand (tests). */
  enabled: boolean;
  tickMs: number;
  /**
   * One unit of work under a lease: claim with `token`, do it, record the outcome. Resolves with how many items it
   * finished (the run goes on), or null when nothing was due (the run ends).
   */
  step: (token: string) => Promise<number | null>;
  /** Gives a lease back (shutdown, for the step in flight): its item is claimed again at once, not when the lease expires. */
  release: (token: string) => Promise<unknown>;
}

/** `<host>:<pid>:<random>`: a lease's `locked_by` names the process holding it. */
export const newWorkerId = (): string => `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(3).toString('hex')}`;

/**
 * The set-up the leased background processors share (uploads, contacts; deliveries keeps its own drain loop, which
 * holds many attempts on the wire at once instead of one step at a time):
 * a worker id, the interval registration, the stop flag and the lease loop. The processor keeps the work itself.
 *
 *   const worker = new LeasedWorker({ name: 'upload-processor', scheduler, logger, enabled, tickMs, step });
 *   worker.start();                // onApplicationBootstrap: an unref'd interval calling runUntilIdle(), if enabled
 *   await worker.runUntilIdle();   // the public trigger (ghostfolio style: tests call it directly): runs `step` until
 *                                  // it finds nothing or stop() was called; concurrent calls share the one run and
 *                                  // resolve with how many items its steps finished
 *   worker.activeToken;            // the lease token of the step in flight, or null
 *   await worker.shutdown();       // beforeApplicationShutdown: stop() — no new step starts, the interval is
 *                                  // removed — then `release` the step in flight's lease
 *
 * Tokens are `<worker id>:<n>`, the worker id `<host>:<pid>:<random>`, so a lease names the process holding it.
 */
export class LeasedWorker {
  readonly id = newWorkerId();
  activeToken: string | null = null;
  private running: Promise<number> | null = null;
  private stopping = false;
  private seq = 0;

  constructor(private readonly options: LeasedWorkerOptions) {}

  start(): void {
    if (!this.options.enabled) return;
    const timer = setInterval(() => {
      this.runUntilIdle().catch((e) => this.options.logger.error({ err: e }, `${this.options.name} failed`));
    }, this.options.tickMs);
    timer.unref();
    this.options.scheduler.addInterval(this.options.name, timer);
  }

  runUntilIdle(): Promise<number> {
    if (this.running) return this.running;
    this.running = (async () => {
      let n = 0;
      while (!this.stopping) {
        const done = await this.runStep();
        if (done === null) break;
        n += done;
      }
      return n;
    })().finally(() => (this.running = null));
    return this.running;
  }

  stop(): void {
    this.stopping = true;
    if (this.options.scheduler.doesExist('interval', this.options.name)) this.options.scheduler.deleteInterval(this.options.name);
  }

  async shutdown(): Promise<void> {
    this.stop();
    const token = this.activeToken;
    if (token) await this.options.release(token).catch(() => undefined);
  }

  private async runStep(): Promise<number | null> {
    const token = `${this.id}:${++this.seq}`;
    this.activeToken = token;
    try {
      return await this.options.step(token);
    } finally {
      this.activeToken = null;
    }
  }
}
