import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

export type Responder = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A real local webhook receiver that records every request. `respond` decides the answer (default 200 "ok");
 * tests swap it to script failures, slowness, redirects.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  connections = 0;
  respond: Responder = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
  private readonly sockets = new Set<Socket>();
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async http(): Promise<Receiver> {
    return Receiver.listen(createHttpServer(), 'http');
  }

  /** HTTPS with a self-signed certificate for 127.0.0.1/localhost; `cert` is what the service must trust. */
  static async https(cert = selfSignedCert()): Promise<Receiver & { certPem: string; certFile: string }> {
    const r = await Receiver.listen(createHttpsServer({ key: cert.key, cert: cert.cert }), 'https');
    return Object.assign(r, { certPem: cert.cert, certFile: cert.certFile });
  }

  private static async listen(server: Server, scheme: string): Promise<Receiver> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const r = new Receiver(server, `${scheme}://127.0.0.1:${port}`);
    server.on('connection', (s: Socket) => {
      r.connections++;
      r.sockets.add(s);
      s.on('close', () => r.sockets.delete(s));
    });
    server.on('secureConnection', () => undefined);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        r.requests.push(rec);
        r.waiters = r.waiters.filter((w) => (r.requests.length >= w.n ? (w.resolve(), false) : true));
        Promise.resolve(r.respond(rec, res)).catch(() => res.destroy());
      });
    });
    return r;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Resolves once `n` requests in total have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs = 15000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver got ${this.requests.length} of ${n} requests`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  bodies<T = any>(): T[] {
    return this.requests.map((r) => JSON.parse(r.body.toString('utf8')));
  }

  reset(): void {
    this.requests.length = 0;
    this.connections = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A throwaway self-signed certificate made with the system's openssl. */
export function selfSignedCert(): { key: string; cert: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'od-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  const out = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return out;
}

/** A TCP port with nothing listening on it (for refused-connection cases). */
export async function closedPort(): Promise<number> {
  const s = createHttpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Env for suites that deliver to local receivers: plain http and loopback allowed, short timeouts. */
export const LOCAL_DELIVERY_ENV = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
  WEBHOOK_PING_TIMEOUT_MS: '1500',
  DELIVERY_TIMEOUT_MS: '1500',
};
