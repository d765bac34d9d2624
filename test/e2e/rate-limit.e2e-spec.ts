import { AuthService } from '../../src/auth/auth.service';
import { createTestApp, TestApp } from '../support/test-app';
import { TestRoutesModule } from '../support/test-routes';

/** SPEC §3.4 with small limits (per key 5, per organization 8) so the suite stays fast. */
describe('rate limits (SPEC §3.4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ imports: [TestRoutesModule], env: { RATE_LIMIT_PER_KEY: '5', RATE_LIMIT_PER_ORGANIZATION: '8' } });
  });
  afterAll(() => t.close());

  const write = (auth: { Authorization: string }) => t.http.post('/api/v1/test-only/write').set(auth);

  it('per key: the 6th write in a window is 429 with Retry-After and the exact body; reads are not counted', async () => {
    const org = await t.createOrganization();
    for (let i = 1; i <= 5; i++) await write(org.auth).expect(200);
    for (let i = 0; i < 10; i++) await t.http.get('/api/v1/me').set(org.auth).expect(200);
    const res = await write(org.auth);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body).toEqual({
      detail: {
        error: 'rate_limit_exceeded',
        message: expect.any(String),
        limit: 5,
        observed: 6,
        retry_after_seconds: retryAfter,
        scope: 'api_key',
      },
    });
  });

  it('every write response carries X-RateLimit-* for the tighter counter', async () => {
    const org = await t.createOrganization();
    const res = await write(org.auth);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('5');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
    expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
  });

  it('two keys of one organization share the organization budget', async () => {
    const org = await t.createOrganization();
    const second = await t.get(AuthService).mintKey({ organizationId: org.organizationId, userId: org.userId });
    const k2 = { Authorization: `Bearer ${second.apiKey}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await write(org.auth)).status);
    for (let i = 0; i < 4; i++) statuses.push((await write(k2)).status);
    expect(statuses).toEqual(Array(8).fill(200));
    const res = await write(k2);
    expect(res.status).toBe(429);
    expect(res.body.detail).toMatchObject({ scope: 'organization', limit: 8, observed: 9 });
    // another organization is untouched
    await write((await t.createOrganization()).auth).expect(200);
  });

  it('a new window starts after a minute', async () => {
    const org = await t.createOrganization();
    for (let i = 0; i < 5; i++) await write(org.auth).expect(200);
    await write(org.auth).expect(429);
    t.clock.advance(61_000);
    try {
      await write(org.auth).expect(200);
    } finally {
      t.clock.advance(-61_000);
    }
  });
});
