import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The service as its own OS process (what `npm start` runs, from source through ts-node so it is always the
 * current code), for tests about signals, crashes and several instances. Logs are kept for inspection.
 */
export class ServiceProcess {
  readonly logs: string[] = [];
  exitCode: number | null = null;
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? -1 : null)))));
  }

  static async start(env: Record<string, string>, port: number, startTimeoutMs = 60_000): Promise<ServiceProcess> {
    const root = join(__dirname, '../..');
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sp = new ServiceProcess(child, `http://127.0.0.1:${port}`);
    const collect = (d: Buffer) => sp.logs.push(...d.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    try {
      if (env.HTTP_ENABLED === 'false') await sp.waitForLog(/running as a worker/, startTimeoutMs);
      else await sp.waitForHealth(startTimeoutMs);
    } catch (e) {
      child.kill('SIGKILL'); // a service that did not come up must not outlive the test
      throw e;
    }
    return sp;
  }

  waitForLog(re: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        if (this.logs.some((l) => re.test(l))) return resolve();
        if (this.exitCode !== null) return reject(new Error(`service exited (${this.exitCode}):\n${this.logs.slice(-20).join('\n')}`));
        if (Date.now() > deadline) return reject(new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${this.logs.slice(-20).join('\n')}`));
        setTimeout(check, 50);
      };
      check();
    });
  }

  /** Ready = /health/live answers (works at any LOG_LEVEL). */
  async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== null) throw new Error(`service exited (${this.exitCode}):\n${this.logs.slice(-20).join('\n')}`);
      const ok = await fetch(`${this.baseUrl}/health/live`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`service not healthy within ${timeoutMs} ms:\n${this.logs.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  exit(): Promise<number | null> {
    return this.exited;
  }
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
