import { createTestApp, TestApp } from '../support/test-app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('me', async () => {
    const org = await t.createOrganization({ credits: 5 });
    const res = await t.http.get('/api/v1/me').set(org.auth);
    console.log(res.status, res.headers, res.body);
    const bad = await t.http.post('/api/v1/me').set(org.auth).set('content-type', 'application/json').send('{bad');
    console.log(bad.status, bad.body);
    const nf = await t.http.get('/nope');
    console.log(nf.status, nf.body);
    const h = await t.http.get('/health/ready');
    console.log(h.status, h.body);
  });
});
