import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildOpenApiDocument, createApp } from './bootstrap';
import { loadConfig } from './config/app-config';

/** `npm run openapi`: writes openapi.json from the built app (the Swagger plugin runs at `nest build`). */
async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'od-openapi-')),
    DATABASE_URL: '',
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
    DELIVERY_PROCESSOR_ENABLED: 'false',
    UPLOAD_PROCESSOR_ENABLED: 'false',
    CONTACT_PROCESSOR_ENABLED: 'false',
  });
  const app = await createApp({ config });
  await app.init();
  const out = process.argv[2] ?? 'openapi.json';
  writeFileSync(out, JSON.stringify(buildOpenApiDocument(app), null, 2) + '\n');
  await app.close();
  process.stderr.write(`wrote ${out}\n`);
}

void main();
