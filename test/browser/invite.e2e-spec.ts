import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { call, dbQuery as q, signIn } from '../support/http.js';
import { createKey, createUser } from '../support/auth.js';
import { TestIdp } from '../support/oidc-idp.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import { capture, CHROMIUM, DESKTOP, launch, noHorizontalScroll, type A11yResult } from './browser.js';

/**
 * Invite links and the member's corner in Chromium: an admin creates a user with an invite link on the Users
 * page; the invited person opens it, sets a password (or signs in with SSO through it) and lands in their
 * corner; a used or expired link gets a clear page; an admin opens a user's usage from the Users page. axe: no
 * serious/critical violations on these pages; no horizontal scroll at phone width.
 */
const WEB = join(process.cwd(), 'web', 'dist', 'index.html');
const ready = existsSync(CHROMIUM) && existsSync(WEB);
if (!ready && !process.env.CI)
  console.warn(`browser test skipped: needs ${CHROMIUM} (apt-get install chromium) and npm run build`);
const maybe = ready || process.env.CI ? describe : describe.skip;

const CLIENT = { clientId: 'codex-gateway', clientSecret: 'idp-client-secret-1' };
const ADMIN = { email: 'root@example.test', password: 'first-admin-pass-1' };
const T = 90_000;

maybe('invite links and the member corner in a real browser', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  let browser: Browser;
  const a11y: A11yResult[] = [];
  let inviteUrl = '';

  /** An invite made through the API by a signed-in admin (for the cases that do not need the Users page). */
  async function apiInvite(email: string): Promise<{ url: string; userId: string }> {
    const admin = await signIn(gw, { role: 'admin' });
    const user = await createUser(gw, { email });
    const r = await call(gw, 'POST', `/admin/api/users/${user.id}/invite`, {
      cookie: admin.cookie,
      headers: { origin: admin.origin },
    });
    expect(r.status).toBe(201);
    return { url: r.body.url, userId: user.id };
  }

  /** A new browser context with the bootstrap admin signed in (password) on the Users page. */
  async function adminOnUsersPage() {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${gw.url}/admin/`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByRole('textbox', { name: 'Password' }).fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    return { context, page };
  }

  beforeAll(async () => {
    idp = await TestIdp.start();
    gw = await startGateway({
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT.clientId,
        OIDC_CLIENT_SECRET: CLIENT.clientSecret,
        OIDC_SCOPES: 'openid email profile groups',
        OIDC_ADMIN_GROUPS: 'gw-admins',
        OIDC_LABEL: 'Sign in with Example ID',
      },
    });
    await idp.register({ ...CLIENT, redirectUri: `${gw.url}/admin/api/auth/oidc/callback` });
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await idp?.close();
  });

  it(
    'an admin creates a user with an invite link on the Users page; the link is shown once',
    async () => {
      const { context, page } = await adminOnUsersPage();
      await page.getByRole('button', { name: 'Create user' }).first().click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Email').fill('nia@example.test');
      await dialog.getByLabel('Name').fill('Nia');
      expect(await dialog.getByRole('checkbox', { name: /invite link/ }).isChecked()).toBe(true);
      await dialog.getByRole('button', { name: 'Create user' }).click();
      const link = page.getByTestId('invite-link');
      await link.waitFor();
      inviteUrl = (await link.textContent())!;
      expect(inviteUrl).toMatch(/\/admin\/invite\?token=cginv_/);
      await capture(page, 'users-invite-link', a11y);
      await page.keyboard.press('Escape');
      await context.close();
    },
    T,
  );

  it(
    'the invited member opens the link, sets a password and lands in their corner',
    async () => {
      const [nia] = await q(gw, `SELECT id FROM users WHERE email = 'nia@example.test'`);
      await createKey(gw, { userId: nia.id, name: 'nia-laptop', dailyTokenQuota: 5000 });
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      await page.goto(inviteUrl);
      await page.getByRole('heading', { level: 1, name: 'Welcome, Nia' }).waitFor();
      // The token leaves the address bar (and the history) once read.
      expect(page.url()).toBe(`${gw.url}/admin/invite`);
      await page.getByRole('button', { name: 'Continue with Example ID' }).waitFor();
      await capture(page, 'invite-welcome', a11y, { axePhone: true });
      expect(await noHorizontalScroll(page)).toBe(true);
      await page.getByLabel('New password').fill('nia-password-1');
      await page.getByLabel('Repeat the password').fill('nia-password-2');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await page.getByText('The two passwords differ.').waitFor();
      await page.getByLabel('Repeat the password').fill('nia-password-1');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'My corner' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/admin/me');
      await page.getByTestId('signed-in-as').filter({ hasText: 'nia@example.test' }).waitFor();
      await page.getByTestId('corner-key').filter({ hasText: 'nia-laptop' }).waitFor();
      await page.getByRole('heading', { name: 'Use a key from your tools' }).waitFor();
      await capture(page, 'member-corner', a11y, { axePhone: true });
      expect(await noHorizontalScroll(page)).toBe(true);
      await context.close();
    },
    T,
  );

  it(
    'a used link and an expired link each get a clear page',
    async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      await page.goto(inviteUrl);
      await page.getByRole('heading', { level: 1, name: 'This invite was already used' }).waitFor();
      await page.getByRole('link', { name: 'Go to the sign-in page' }).waitFor();
      await capture(page, 'invite-used', a11y);
      expect(await noHorizontalScroll(page)).toBe(true);

      const late = await apiInvite('late@example.test');
      await q(gw, `UPDATE invites SET "expiresAt" = now() - interval '1 minute' WHERE "userId" = $1`, [
        late.userId,
      ]);
      await page.goto(late.url);
      await page.getByRole('heading', { level: 1, name: 'This invite has expired' }).waitFor();
      await capture(page, 'invite-expired', a11y);
      expect(await noHorizontalScroll(page)).toBe(true);
      await page.goto(`${gw.url}/admin/invite?token=cginv_nonsense`);
      await page.getByRole('heading', { level: 1, name: 'This invite link is not valid' }).waitFor();
      await context.close();
    },
    T,
  );

  it(
    'SSO through an invite: the invited person signs in at the IdP and lands in their corner',
    async () => {
      const { url } = await apiInvite('oli@example.test');
      idp.people.set('oli', {
        email: 'oli@example.test',
        email_verified: true,
        name: 'Oli',
        groups: ['eng'],
      });
      idp.people.set('pat', { email: 'pat@example.test', email_verified: true, groups: ['eng'] });
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      idp.signInAs = 'pat';
      await page.goto(url);
      await page.getByRole('button', { name: 'Continue with Example ID' }).click();
      await page.getByRole('alert').filter({ hasText: 'another email address' }).waitFor();
      await capture(page, 'invite-sso-refused', a11y);
      idp.signInAs = 'oli';
      await page.goto(url);
      await page.getByRole('button', { name: 'Continue with Example ID' }).click();
      await page.getByRole('heading', { level: 1, name: 'My corner' }).waitFor();
      await page.getByTestId('signed-in-as').filter({ hasText: 'oli@example.test' }).waitFor();
      await context.close();
    },
    T,
  );

  it(
    "an admin opens a user's usage from the Users page",
    async () => {
      const { context, page } = await adminOnUsersPage();
      await page.getByRole('button', { name: 'Actions for nia@example.test' }).click();
      await page.getByRole('menuitem', { name: 'Usage' }).click();
      await page.getByRole('heading', { level: 1, name: 'Usage of nia@example.test' }).waitFor();
      await page.getByTestId('corner-key').filter({ hasText: 'nia-laptop' }).waitFor();
      await capture(page, 'user-usage', a11y);
      expect(await noHorizontalScroll(page)).toBe(true);
      await context.close();
    },
    T,
  );

  it(
    'an SSO-only admin confirms deleting an admin with their SSO sign-in; a stale one goes through the IdP again',
    async () => {
      idp.people.set('ada', { email: 'ada@example.test', email_verified: true, groups: ['gw-admins'] });
      idp.signInAs = 'ada';
      const doomed = [
        await createUser(gw, { role: 'admin', email: 'old-admin-1@example.test' }),
        await createUser(gw, { role: 'admin', email: 'old-admin-2@example.test' }),
      ];
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      await page.goto(`${gw.url}/admin/`);
      await page.getByRole('link', { name: 'Sign in with Example ID' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
      const remove = async (email: string) => {
        await page.getByRole('button', { name: `Actions for ${email}` }).click();
        await page.getByRole('menuitem', { name: 'Delete…' }).click();
        await page.getByRole('dialog').getByText('You confirm with your single sign-on').waitFor();
        await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
      };
      await remove(doomed[0].email);
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await page
        .getByRole('button', { name: `Actions for ${doomed[0].email}` })
        .waitFor({ state: 'detached' });

      // Ten minutes later (the session record is aged in Redis): the dialog sends the admin through the IdP.
      const sid = (await context.cookies()).find((c) => c.name === 'cg_session')!.value;
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const key = `${gw.config.REDIS_KEY_PREFIX}session:${createHash('sha256').update(sid).digest('hex')}`;
        const s = JSON.parse((await redis.get(key))!);
        s.createdAt -= 600_000;
        await redis.set(key, JSON.stringify(s), 'KEEPTTL');
      } finally {
        redis.disconnect();
      }
      await remove(doomed[1].email);
      const again = page.getByRole('dialog').getByRole('link', { name: 'Sign in again with single sign-on' });
      await again.waitFor();
      await capture(page, 'users-fresh-sso', a11y);
      await again.click();
      await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/admin/users');
      await remove(doomed[1].email);
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await page
        .getByRole('button', { name: `Actions for ${doomed[1].email}` })
        .waitFor({ state: 'detached' });
      await context.close();
    },
    T,
  );

  it('no serious or critical accessibility violations on the new pages (axe-core)', () => {
    expect(a11y.length).toBeGreaterThanOrEqual(8);
    expect(a11y.filter((r) => r.violations.length)).toEqual([]);
  });
});
