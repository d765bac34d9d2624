import SwaggerParser from '@apidevtools/swagger-parser';
import { createTestApp, TestApp } from '../support/test-app';

describe('OpenAPI document and Swagger UI', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /docs without a key', async () => {
    const res = await t.http.get('/docs').redirects(1).expect(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('/docs-json is a valid OpenAPI document with bearer auth, operation ids and error envelopes', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    await expect(SwaggerParser.validate(JSON.parse(JSON.stringify(doc)))).resolves.toBeDefined();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ops: Array<{ path: string; method: string; op: Record<string, any> }> = [];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<Record<string, any>>(item)) ops.push({ path, method, op });
    }
    expect(ops.length).toBeGreaterThan(15);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of ops.filter((o) => o.path.startsWith('/api/v1'))) {
      expect(op.operationId).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
      expect(op.tags?.length).toBeGreaterThan(0);
      const codes = Object.keys(op.responses);
      expect(codes.some((c) => c === '200' || c === '202')).toBe(true);
      expect(codes).not.toContain('201');
      expect(codes).toContain('401');
      for (const c of codes.filter((c) => /^[45]\d\d$/.test(c))) {
        expect({ path, c, schema: op.responses[c].content?.['application/json']?.schema }).toEqual({ path, c, schema: expect.anything() });
      }
    }
    expect(doc.paths['/api/v1/me'].get.responses['200'].content['application/json'].schema).toBeDefined();
  });
});
