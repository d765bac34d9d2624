import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import { createTestApp, TestApp, TestOrg } from '../support/test-app';

/**
 * Swagger UI in a real browser: Debian's Chromium (installed by .ci/run), driven by playwright-core, with the
 * flags that keep it off the network. Outside CI, a machine without Chromium skips this suite loudly;
 * with REQUIRE_BROWSER=1 (set by .ci/run) a missing Chromium is a failure.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  const message = `\n\n*** Swagger UI browser test: no Chromium at ${CHROMIUM} (apt-get install chromium). ***\n\n`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(message);
  process.stderr.write(message);
}
const describeBrowser = available ? describe : describe.skip;

describeBrowser('Swagger UI in Chromium', () => {
  let t: TestApp;
  let org: TestOrg;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestApp();
    org = await t.createOrganization({ credits: 42 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright gives the browser a new empty profile of its own
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('authorizes with a bearer key and runs "Try it out" on GET /api/v1/me', async () => {
    const address = t.app.getHttpServer().address() as { port: number };
    const page = await browser.newPage();
    // nothing leaves the machine: every request that is not this service fails
    await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
    await page.goto(`http://127.0.0.1:${address.port}/docs`);
    await page.locator('button.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(org.apiKey);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    const op = page.locator('#operations-Account-getMe');
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    const row = op.locator('.live-responses-table tr.response');
    await row.first().waitFor();
    expect((await row.locator('.response-col_status').first().innerText()).trim()).toBe('200');
    const body = JSON.parse(await row.locator('.response-col_description pre').first().innerText());
    expect(body.organization).toMatchObject({ id: org.organizationId, credits_balance: 42 });
    expect(body.api_key.prefix).toBe(org.apiKey.slice(0, 12));
  });
});
