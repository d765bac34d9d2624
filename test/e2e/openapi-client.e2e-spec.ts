import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { LOCAL_DELIVERY_ENV, Receiver } from '../support/receiver';

/**
 * The OpenAPI document is proven usable, not just valid: types are generated from /docs-json with
 * openapi-typescript, a client flow written against them must type-check (and a wrong call must not), and the
 * flow then runs through openapi-fetch against the live service.
 */
const FLOW = `
import createClient from 'openapi-fetch';
import type { operations, paths } from './schema';

// the generated types know every answer and the headers a client reads (issue 13)
type CreateWebhookAnswers = operations['createWebhook']['responses'];
// an undeclared header would type as unknown (openapi-typescript's index signature), which is not assignable here
const declared = <T>(): T => undefined as unknown as T;
export const typedRemaining: number = declared<CreateWebhookAnswers[200]['headers']['X-RateLimit-Remaining']>();
export const typedRequestId: string = declared<CreateWebhookAnswers[200]['headers']['X-Request-Id']>();
export const typedRetryAfter: number = declared<CreateWebhookAnswers[429]['headers']['Retry-After']>();
export const typedUnauthorized: string = declared<operations['getMe']['responses'][401]['headers']['WWW-Authenticate']>();
export const typedNextCursor: string | undefined = declared<operations['listWebhookDeliveries']['responses'][200]['headers']['X-Next-Cursor']>();
export const typedMalformed: CreateWebhookAnswers[400]['content']['application/json'] = { detail: 'Malformed JSON body' };
export const typedTooLarge: CreateWebhookAnswers[413]['content']['application/json'] = { detail: 'Request body too large' };
export const typedTooMany: CreateWebhookAnswers[429]['content']['application/json'] = { detail: { error: 'rate_limit_exceeded' } };

export async function runFlow(baseUrl: string, apiKey: string, receiverUrl: string, phones: string[]) {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: 'Bearer ' + apiKey } });
  const webhook = await client.POST('/api/v1/webhooks', { body: { url: receiverUrl, events: ['upload.created'], description: 'typed client' } });
  if (!webhook.data) throw new Error('create webhook failed: ' + JSON.stringify(webhook.error));
  const rateLimitRemaining = Number(webhook.response.headers.get('X-RateLimit-Remaining'));
  const endpointId: string = webhook.data.webhook.id;
  const secret: string = webhook.data.secret;
  const upload = await client.POST('/api/v1/uploads', { body: { filename: 'typed.csv', phone_numbers: phones } });
  if (!upload.data) throw new Error('create upload failed: ' + JSON.stringify(upload.error));
  const uploadId: string = upload.data.id;
  const validRows: number = upload.data.valid_row_count;
  const deliveries = await client.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id: endpointId }, query: { limit: 10 } } });
  if (!deliveries.data) throw new Error('list deliveries failed');
  const missing = await client.GET('/api/v1/uploads/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } });
  return { rateLimitRemaining, endpointId, secret, uploadId, validRows, deliveries: deliveries.data, missingStatus: missing.response.status, missingError: missing.error };
}
`;

const WRONG = `
import createClient from 'openapi-fetch';
import type { paths } from './schema';
const client = createClient<paths>({ baseUrl: 'http://x' });
void client.POST('/api/v1/webhooks', { body: { description: 'no url' } });
void client.GET('/api/v1/no-such-route');
import type { operations } from './schema';
export const notANumber: operations['createWebhook']['responses'][200]['headers']['X-RateLimit-Remaining'] = 'sixty';
`;

function typeErrors(dir: string, file: string): string[] {
  const program = ts.createProgram([join(dir, file)], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    skipLibCheck: true,
    types: [],
    typeRoots: [join(__dirname, '../../node_modules/@types')],
    baseUrl: join(__dirname, '../..'),
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('typed client generated from openapi.json', () => {
  let t: TestApp;
  let org: TestOrg;
  let receiver: Receiver;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp({ env: LOCAL_DELIVERY_ENV });
    org = await t.createOrganization({ credits: 1000 });
    receiver = await Receiver.http();
    mkdirSync(join(__dirname, '../.tmp'), { recursive: true });
    // inside the project so the generated code resolves openapi-fetch from node_modules
    dir = mkdtempSync(join(__dirname, '../.tmp/openapi-client-'));
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates types that type-check a real flow, reject a wrong one, and drive the service', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
    // the generator's own CLI, as a user would run it (the package is ESM-only underneath, so not through jest)
    execFileSync(process.execPath, [join(__dirname, '../../node_modules/openapi-typescript/bin/cli.js'), join(dir, 'openapi.json'), '-o', join(dir, 'schema.ts')], { stdio: 'pipe' });
    writeFileSync(join(dir, 'flow.ts'), FLOW);
    writeFileSync(join(dir, 'wrong.ts'), WRONG);

    expect(typeErrors(dir, 'flow.ts')).toEqual([]);
    const wrong = typeErrors(dir, 'wrong.ts');
    expect(wrong.length).toBeGreaterThanOrEqual(2);
    expect(wrong.join('\n')).toMatch(/url/);
    expect(wrong.join('\n')).toMatch(/'string' is not assignable to type 'number'/);

    const js = ts.transpileModule(FLOW, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
    writeFileSync(join(dir, 'flow.js'), js.outputText);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runFlow } = require(join(dir, 'flow.js'));
    const port = (t.app.getHttpServer().address() as { port: number }).port;
    const phones = Array.from({ length: 120 }, (_, i) => `+1415${2000000 + i * 7919}`);
    const out = await runFlow(`http://127.0.0.1:${port}`, org.apiKey, `${receiver.url}/hook`, phones);

    expect(out.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(out.rateLimitRemaining).toBeGreaterThanOrEqual(0);
    expect(out.validRows).toBe(120);
    expect(out.deliveries).toHaveLength(1);
    expect(out.deliveries[0]).toMatchObject({ event_type: 'upload.created' });
    expect(out.missingStatus).toBe(404);
    expect(out.missingError).toEqual({ detail: expect.any(String) });
  });
});
