import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

  /** Ready = /health/live answers (works at any LOG_LEVEL), with the request id only this service sets. */
  async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== null) throw new Error(`service exited (${this.exitCode}):\n${this.logs.slice(-20).join('\n')}`);
      const ok = await fetch(`${this.baseUrl}/health/live`).then((r) => r.ok && r.headers.has('x-request-id'), () => false);
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

/**
 * A port for a service process, taken below the kernel's ephemeral range. Receivers and outgoing connections bind port
 * 0 and get ports from that range, so a port probed there could be taken by a test receiver in another jest worker in
 * the seconds before the service listens: in CI the service then failed to bind while its health check and the test's
 * requests reached that receiver (which answers 200 to everything). Each worker hands out its own block in turn.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const blocks = 8;
  const blockSize = Math.floor(Math.min(low - 1024, 16_000) / blocks);
  const base = low - blocks * blockSize + ((Number(process.env.JEST_WORKER_ID ?? 1) - 1) % blocks) * blockSize;
  for (let i = 0; i < blockSize; i++) {
    const port = base + (nextPort++ % blockSize);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

let nextPort = Math.floor(Math.random() * 1000); // a new run does not start where a leftover process of the last one may sit

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
