import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DynamicModule } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { AuthService } from '../../src/auth/auth.service';
import { createApp } from '../../src/bootstrap';
import { TestClock } from '../../src/common/clock';
import { AppConfig, Env, loadConfig } from '../../src/config/app-config';

export interface TestApp {
  app: NestExpressApplication;
  http: TestAgent;
  clock: TestClock;
  config: AppConfig;
  dataDir: string;
  get<T>(token: new (...args: never[]) => T): T;
  createOrganization(opts?: { credits?: number; subscription?: 'active' | 'inactive'; scopes?: string[] }): Promise<TestOrg>;
  close(): Promise<void>;
}

export interface TestOrg {
  organizationId: string;
  userId: string;
  apiKey: string;
  auth: { Authorization: string };
}

/** Runs `fn` on a short-lived admin connection (CREATE/DROP DATABASE, counts). */
export async function pgAdmin<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh PostgreSQL database per suite when TEST_DATABASE_URL is set, so suites run in parallel. */
export async function freshPostgres(prefix = 'e2e'): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return null;
  const name = `od_${prefix.replace(/\W/g, '_')}_${randomBytes(6).toString('hex')}`;
  await pgAdmin(base, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => pgAdmin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function createTestApp(options: { env?: Env; imports?: DynamicModule['imports']; port?: number } = {}): Promise<TestApp> {
  // A suite may point the app at a database it prepared itself (the CLI suite); otherwise each app gets a fresh one.
  const ownDataDir = !options.env?.DATA_DIR;
  const dataDir = options.env?.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'od-e2e-'));
  const pg = options.env?.DATABASE_URL || !ownDataDir ? null : await freshPostgres();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    DELIVERY_PROCESSOR_ENABLED: 'false',
    UPLOAD_PROCESSOR_ENABLED: 'false',
    CONTACT_PROCESSOR_ENABLED: 'false',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...options.env,
  });
  const clock = new TestClock();
  const app = await createApp({ config, clock, imports: options.imports });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  const http = request(`http://127.0.0.1:${port}`);
  const auth = app.get(AuthService);
  let orgCounter = 0;
  return {
    app,
    http,
    clock,
    config,
    dataDir,
    get: (token) => app.get(token),
    async createOrganization(opts = {}) {
      const created = await auth.createOrganization({
        name: `Org ${++orgCounter}`,
        ownerEmail: `owner${orgCounter}-${randomBytes(3).toString('hex')}@example.com`,
        credits: opts.credits ?? 0,
        subscription: opts.subscription,
      });
      let apiKey = created.apiKey;
      if (opts.scopes) {
        apiKey = (await auth.mintKey({ organizationId: created.organization.id, userId: created.user.id, scopes: opts.scopes })).apiKey;
      }
      return { organizationId: created.organization.id, userId: created.user.id, apiKey, auth: { Authorization: `Bearer ${apiKey}` } };
    },
    async close() {
      await app.close();
      await pg?.drop();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
