import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { TestIdp } from '../support/oidc-idp.js';
import { axe, CHROMIUM, launch, DESKTOP, noHorizontalScroll, type A11yResult } from './browser.js';

/**
 * Single sign-on in Chromium against a real OpenID Provider (oidc-provider in this process): the sign-in page's
 * SSO button, the round trip through the IdP, landing signed in; a refused sign-in shows its message. axe (no
 * serious/critical violations) and no horizontal scroll at phone width on the sign-in pages.
 */
const WEB = join(process.cwd(), 'web', 'dist', 'index.html');
const ready = existsSync(CHROMIUM) && existsSync(WEB);
if (!ready && !process.env.CI)
  console.warn(`browser test skipped: needs ${CHROMIUM} (apt-get install chromium) and npm run build`);
const maybe = ready || process.env.CI ? describe : describe.skip;

const CLIENT = { clientId: 'codex-gateway', clientSecret: 'idp-client-secret-1' };

maybe('single sign-on in a real browser', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  let browser: Browser;
  const a11y: A11yResult[] = [];

  beforeAll(async () => {
    idp = await TestIdp.start();
    gw = await startGateway({
      env: {
        ADMIN_EMAIL: 'root@example.test',
        ADMIN_PASSWORD: 'first-admin-pass-1',
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT.clientId,
        OIDC_CLIENT_SECRET: CLIENT.clientSecret,
        OIDC_SCOPES: 'openid email profile groups',
        OIDC_ADMIN_GROUPS: 'gw-admins',
        OIDC_ALLOWED_DOMAINS: 'example.test',
        OIDC_LABEL: 'Sign in with Example ID',
      },
    });
    await idp.register({ ...CLIENT, redirectUri: `${gw.url}/admin/api/auth/oidc/callback` });
    idp.people.set('mia', { email: 'mia@example.test', email_verified: true, name: 'Mia', groups: ['eng'] });
    idp.people.set('mal', { email: 'mal@elsewhere.test', email_verified: true, groups: ['gw-admins'] });
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await idp?.close();
  });

  it('a member signs in with the SSO button and lands in their corner', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${gw.url}/admin/`);
    const button = page.getByRole('link', { name: 'Sign in with Example ID' });
    await button.waitFor();
    a11y.push(await axe(page, 'sign-in with SSO'));
    expect(await noHorizontalScroll(page)).toBe(true);
    idp.signInAs = 'mia';
    await button.click();
    await page.getByTestId('signed-in-as').filter({ hasText: 'mia@example.test' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My usage' }).waitFor();
    expect(new URL(page.url()).pathname.startsWith('/admin')).toBe(true);
    await context.close();
  }, 60_000);

  it('a refused SSO sign-in comes back to the sign-in page with a clear message', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${gw.url}/admin/`);
    idp.signInAs = 'mal';
    await page.getByRole('link', { name: 'Sign in with Example ID' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Your email domain is not allowed' });
    await alert.waitFor();
    expect(page.url()).not.toContain('sso_error');
    a11y.push(await axe(page, 'sign-in, SSO refused'));
    expect(await noHorizontalScroll(page)).toBe(true);
    expect(a11y.flatMap((r) => r.violations)).toEqual([]);
    await context.close();
  }, 60_000);
});
