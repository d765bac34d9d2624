import { AuthService } from '../../src/auth/auth.service';
import { waitFor } from '../support/poll';
import { createTestApp, TestApp } from '../support/test-app';
import { TestRoutesModule } from '../support/test-routes';

/** Reads until `done` holds (at most 5 s), for writes the service makes off the request path. */
const until = <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
  waitFor(async () => {
    const v = await read();
    return done(v) ? { v } : null;
  }, 5000, 'the off-request-path write', 20).then((r) => r.v);

describe('authentication (SPEC §3)', () => {
  let t: TestApp;
  let auth: AuthService;
  beforeAll(async () => {
    t = await createTestApp({ imports: [TestRoutesModule] });
    auth = t.get(AuthService);
  });
  afterAll(() => t.close());

  function expect401(res: { status: number; headers: Record<string, string>; body: { detail: unknown } }, message: RegExp) {
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(typeof res.body.detail).toBe('string');
    expect(res.body.detail).toMatch(message);
  }

  it('GET /api/v1/me describes the organization and the key, never the key itself', async () => {
    const org = await t.createOrganization({ credits: 25 });
    const res = await t.http.get('/api/v1/me').set(org.auth).expect(200);
    expect(res.body.organization).toMatchObject({ id: org.organizationId, credits_balance: 25, subscription_status: 'active' });
    expect(res.body.api_key).toMatchObject({ prefix: org.apiKey.slice(0, 12), scopes: ['uploads:write', 'uploads:read', 'webhooks:manage'], expires_at: null });
    expect(res.body.api_key.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toContain(org.apiKey);
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it.each([
    ['missing', {}, /Missing API key/],
    ['another scheme', { Authorization: 'Basic dXNlcjpwYXNz' }, /Malformed/],
    ['Bearer with nothing', { Authorization: 'Bearer ' }, /Malformed|Missing/],
    ['not an od_live_ key', { Authorization: 'Bearer abc' }, /Invalid API key|Malformed/],
    ['unknown key', { Authorization: `Bearer od_live_${'A'.repeat(32)}` }, /Invalid API key/],
  ])('401 for a %s key', async (_name, headers, message) => {
    expect401(await t.http.get('/api/v1/me').set(headers as Record<string, string>), message);
  });

  it('401 for two Authorization headers, even when both are valid', async () => {
    const org = await t.createOrganization();
    const res = await t.http.get('/api/v1/me').set('Authorization', [org.auth.Authorization, org.auth.Authorization] as unknown as string);
    expect401(res, /Malformed/);
  });

  it('401 for a revoked key', async () => {
    const org = await t.createOrganization();
    await t.http.get('/api/v1/me').set(org.auth).expect(200);
    const me = await t.http.get('/api/v1/me').set(org.auth);
    await auth.revokeKey(me.body.api_key.id);
    expect401(await t.http.get('/api/v1/me').set(org.auth), /revoked/);
  });

  it('401 once a key has expired (time moved by the clock)', async () => {
    const org = await t.createOrganization();
    const minted = await auth.mintKey({ organizationId: org.organizationId, userId: org.userId, expiresAt: new Date(t.clock.nowMs() + 3600_000) });
    const h = { Authorization: `Bearer ${minted.apiKey}` };
    const ok = await t.http.get('/api/v1/me').set(h).expect(200);
    expect(ok.body.api_key.expires_at).toBe(minted.key.expiresAt!.toISOString());
    t.clock.advance(3600_001);
    try {
      expect401(await t.http.get('/api/v1/me').set(h), /expired/);
    } finally {
      t.clock.advance(-3600_001);
    }
  });

  it("removing a user revokes every key that user minted, and only those", async () => {
    const org = await t.createOrganization();
    const second = await auth.addUser(org.organizationId, `second-${Date.now()}@example.com`, 'owner');
    const k1 = await auth.mintKey({ organizationId: org.organizationId, userId: second.id });
    const k2 = await auth.mintKey({ organizationId: org.organizationId, userId: second.id, scopes: ['uploads:read'] });
    const removed = await auth.removeUser(second.id);
    expect(removed.revokedKeys).toBe(2);
    expect(removed.user.removedAt).not.toBeNull();
    for (const k of [k1, k2]) expect401(await t.http.get('/api/v1/me').set({ Authorization: `Bearer ${k.apiKey}` }), /revoked/);
    await t.http.get('/api/v1/me').set(org.auth).expect(200);
    await expect(auth.mintKey({ organizationId: org.organizationId, userId: second.id })).rejects.toThrow();
  });

  it('only owners mint keys', async () => {
    const org = await t.createOrganization();
    const member = await auth.addUser(org.organizationId, `member-${Date.now()}@example.com`, 'member');
    await expect(auth.mintKey({ organizationId: org.organizationId, userId: member.id })).rejects.toThrow(/owner/);
  });

  it('403 insufficient_scope names the missing scope', async () => {
    const org = await t.createOrganization({ scopes: ['uploads:read'] });
    const res = await t.http.post('/api/v1/test-only/scoped').set(org.auth).expect(403);
    expect(res.body).toEqual({ detail: { error: 'insufficient_scope', message: expect.any(String), required_scope: 'webhooks:manage' } });
    const full = await t.createOrganization();
    await t.http.post('/api/v1/test-only/scoped').set(full.auth).expect(200);
  });

  it('stores only the hash and prefix, and throttles last_used_at writes', async () => {
    const org = await t.createOrganization();
    await t.http.get('/api/v1/me').set(org.auth).expect(200);
    // the write is off the request path: wait for it to land
    const keys = await until(() => auth.listKeys(org.organizationId), (k) => k[0]?.lastUsedAt != null);
    expect(keys).toHaveLength(1);
    const stored = keys[0] as unknown as Record<string, unknown>;
    expect(Object.values(stored)).not.toContain(org.apiKey);
    const firstUse = keys[0].lastUsedAt!;
    expect(firstUse).toBeInstanceOf(Date);
    await t.http.get('/api/v1/me').set(org.auth).expect(200);
    expect((await auth.listKeys(org.organizationId))[0].lastUsedAt!.getTime()).toBe(firstUse.getTime());
    t.clock.advance(61_000);
    try {
      await t.http.get('/api/v1/me').set(org.auth).expect(200);
      const later = await until(() => auth.listKeys(org.organizationId), (k) => k[0].lastUsedAt!.getTime() > firstUse.getTime());
      expect(later[0].lastUsedAt!.getTime()).toBeGreaterThan(firstUse.getTime());
    } finally {
      t.clock.advance(-61_000);
    }
  });
});
