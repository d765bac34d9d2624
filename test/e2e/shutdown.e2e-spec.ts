import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';
import { freePort, ServiceProcess } from '../support/service-process';
import { freshPostgres } from '../support/test-app';

/**
 * SPEC §8 graceful shutdown, on the real process: SIGTERM while deliveries are on the wire to a slow receiver.
 * The process stops claiming, lets the attempts finish, records them, exits 0; after a restart nothing is
 * in_flight and every delivery is delivered — none lost.
 */
describe('graceful shutdown on SIGTERM', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let receiver: Receiver;
  let pg: Awaited<ReturnType<typeof freshPostgres>> = null;
  let service: ServiceProcess | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'od-shutdown-'));
    env = {
      ...LOCAL_DELIVERY_ENV,
      DATA_DIR: dataDir,
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DELIVERY_TIMEOUT_MS: '10000',
      DELIVERY_TICK_MS: '200',
      SHUTDOWN_GRACE_MS: '8000',
      UPLOAD_PROCESSOR_ENABLED: 'false',
    };
    pg = await freshPostgres();
    if (pg) env.DATABASE_URL = pg.url;
    receiver = await Receiver.http();
  });
  afterAll(async () => {
    if (service && service.exitCode === null) service.signal('SIGKILL');
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  });

  it('finishes in-flight attempts, records them, exits 0, and loses nothing', async () => {
    const created = JSON.parse(
      execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli.ts', 'org:create', '--name', 'Shutdown', '--owner-email', 'ops@example.com'], {
        cwd: join(__dirname, '../..'),
        env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
      }).toString(),
    );
    const auth = { Authorization: `Bearer ${created.api_key}` };
    service = await ServiceProcess.start(env, await freePort());
    const http = request(service.baseUrl);
    const hook = await http.post('/api/v1/webhooks').set(auth).send({ url: `${receiver.url}/slow`, events: ['upload.completed'] }).expect(200);
    const endpointId = hook.body.webhook.id;

    // the receiver holds every delivery for 2 s, so they are on the wire when SIGTERM arrives
    receiver.respond = (req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end('ok');
      }, 2000);
    };
    const before = receiver.requests.length;
    for (let i = 0; i < 5; i++) {
      await http.post(`/api/v1/webhooks/${endpointId}/test`).set(auth).send({ event_type: 'upload.completed' }).expect(200);
    }
    await receiver.waitFor(before + 5, 10_000);
    service.signal('SIGTERM');
    const code = await service.exit();
    expect(code).toBe(0);
    expect(service.logs.join('\n')).not.toContain(created.api_key);

    service = await ServiceProcess.start(env, await freePort());
    const http2 = request(service.baseUrl);
    const inFlight = await http2.get('/api/v1/deliveries?status=in_flight').set(auth).expect(200);
    expect(inFlight.body.data).toEqual([]);
    const all = await http2.get(`/api/v1/webhooks/${endpointId}/deliveries?limit=100`).set(auth).expect(200);
    expect(all.body).toHaveLength(5);
    for (const d of all.body) expect(d.status).toBe('delivered');
    // each delivery reached the receiver exactly once: the finished attempts were recorded before exit
    const ids = receiver.requests.slice(before).map((r) => r.headers['x-optimaldial-delivery-id']);
    expect(new Set(ids).size).toBe(5);
    expect(ids).toHaveLength(5);
    service.signal('SIGTERM');
    expect(await service.exit()).toBe(0);
  });
});
