import { createTestApp, TestApp, TestOrg } from '../support/test-app';
import { TestRoutesModule } from '../support/test-routes';

describe('error envelope (SPEC §2)', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp({ imports: [TestRoutesModule] });
    org = await t.createOrganization();
  });
  afterAll(() => t.close());

  it('malformed JSON → 400 envelope', async () => {
    const res = await t.http.post('/api/v1/test-only/write').set(org.auth).set('content-type', 'application/json').send('{"a":');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'Malformed JSON body' });
  });

  it('an upload body is read only after authentication: without a key even malformed JSON is a 401', async () => {
    const res = await t.http.post('/api/v1/uploads').set('content-type', 'application/json').send('{"phone_numbers": [' + '"x",'.repeat(1000));
    expect(res.status).toBe(401);
    const authed = await t.http.post('/api/v1/uploads').set(org.auth).set('content-type', 'application/json').send('{"phone_numbers": [');
    expect(authed.status).toBe(400);
    expect(authed.body).toEqual({ detail: 'Malformed JSON body' });
  });

  it('unknown route → 404 envelope, with and without a key', async () => {
    expect((await t.http.get('/nope')).body).toEqual({ detail: 'Not found' });
    const res = await t.http.get('/api/v1/nope').set(org.auth);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not found' });
  });

  it('oversized JSON body → 413 envelope', async () => {
    const res = await t.http
      .post('/api/v1/test-only/write')
      .set(org.auth)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: 'Request body too large' });
  });

  it('a thrown error → 500 with only the request id, the same as the header', async () => {
    const res = await t.http.get('/api/v1/test-only/boom').set(org.auth).set('X-Request-Id', 'my-request-123');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ detail: { error: 'internal_error', request_id: 'my-request-123' } });
    expect(res.headers['x-request-id']).toBe('my-request-123');
    expect(JSON.stringify(res.body)).not.toContain('SELECT');
  });

  it('generates X-Request-Id when none is sent', async () => {
    const res = await t.http.get('/health/live');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('validation failures carry fields', async () => {
    const res = await t.http.post('/api/v1/webhooks').set(org.auth).send({ url: 'https://example.com/hook', description: 'x'.repeat(501), bogus: 1 });
    expect(res.status).toBe(400);
    expect(res.body.detail.error).toBe('validation_failed');
    expect(Object.keys(res.body.detail.fields)).toEqual(expect.arrayContaining(['description', 'bogus']));
  });

  it('query numbers are parsed strictly', async () => {
    const res = await t.http.get('/api/v1/uploads?limit=abc').set(org.auth);
    expect(res.status).toBe(400);
    expect(res.body.detail).toBeDefined();
  });

  it('health and metrics answer without a key', async () => {
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details).toMatchObject({ database: { status: 'up' }, migrations: { status: 'up' } });
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('http_request_duration_seconds');
  });
});
