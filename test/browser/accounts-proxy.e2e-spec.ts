import { createServer, type AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import type OpenAI from 'openai';
import { FakeUpstream } from '../fake-upstream/index.ts';
import type { TestGateway } from '../support/gateway.js';
import { gatewayWithAccounts } from '../support/scenario.js';
import { eventually, query } from '../support/wait.js';
import {
  axe,
  browserDescribe,
  DESKTOP,
  launch,
  NetworkRecorder,
  signIn,
  type A11yResult,
} from './browser.js';

/**
 * Issue 25 item 1 in Chromium: the Accounts page's egress proxy column. An admin sets an account's proxy through
 * the page (a URL with a credential), the page shows the endpoint only (the credential is nowhere in the page's
 * HTML nor in any response the browser received), two accounts on one endpoint both carry the "shared with"
 * badge, a proxy is removed; an account whose proxy refuses connections (a closed port; a request fails over to
 * another account) shows the cause proxy_unreachable with the proxy's host and the fix. axe on the page.
 */
const maybe = browserDescribe();

const ADMIN = { email: 'proxy-admin@example.test', password: 'proxy-admin-pass-1' };
const SECRET = 'px-Secret-5e81c2';
const OTHER_SECRET = 'px-Other-0d44ab';

/** A loopback port nothing listens on (taken, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

maybe('egress proxy on the Accounts page (real browser)', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  let ids: string[];
  let browser: Browser;
  let page: Page;
  let net: NetworkRecorder;
  let port: number;
  const a11y: A11yResult[] = [];
  const row = (label: string) => page.getByTestId('account-row').filter({ hasText: label });
  const setProxy = async (label: string, url: string) => {
    await row(label).getByLabel(`${label} proxy URL`).fill(url);
    await row(label).getByRole('button', { name: 'Set', exact: true }).click();
  };

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    const g = await gatewayWithAccounts(fake, 3, {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      POOL_STRATEGY: 'round-robin',
      POOL_MAX_ATTEMPTS: '3',
      PROXY_PROBE_SECONDS: '3600',
    });
    gw = g.gw;
    client = g.client;
    ids = g.accts.map((a) => a.id);
    port = await closedPort();
    browser = await launch();
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    net = new NetworkRecorder(gw.url);
    net.attach(page);
    await signIn(page, gw.url, ADMIN);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Accounts', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
    await row('acct0').waitFor();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await fake?.close();
  });

  it('sets a proxy through the page, shows the endpoint only, flags a shared endpoint, removes it', async () => {
    const endpoint = `http://127.0.0.1:${port}`;
    expect(await row('acct0').getByTestId('account-proxy').getAttribute('data-via')).toBe('direct');
    await setProxy('acct0', `http://pu:${SECRET}@127.0.0.1:${port}`);
    await row('acct0').getByTestId('account-proxy').filter({ hasText: endpoint }).waitFor();
    expect(await row('acct0').getByTestId('account-proxy').getAttribute('data-via')).toBe('proxy');
    // The field forgets what was typed once saved.
    expect(await row('acct0').getByLabel('acct0 proxy URL').inputValue()).toBe('');
    // A second account through the same endpoint (another credential): both are flagged.
    await setProxy('acct1', `http://other:${OTHER_SECRET}@127.0.0.1:${port}`);
    await row('acct1').getByTestId('proxy-shared').waitFor();
    for (const label of ['acct0', 'acct1'])
      expect(await row(label).getByTestId('proxy-shared').textContent()).toBe('Shared with 1 other account');
    expect(await row('acct2').getByTestId('proxy-shared').count()).toBe(0);
    a11y.push(await axe(page, 'accounts with proxies'));
    const html = await page.content();
    console.log(`acct0 egress cell: ${await row('acct0').getByTestId('account-proxy').innerText()}`);
    for (const secret of [SECRET, OTHER_SECRET, 'pu:', 'other:']) expect(html).not.toContain(secret);
    // Removed on acct1: it goes direct again and acct0 is no longer flagged.
    await row('acct1').getByRole('button', { name: 'Remove proxy' }).click();
    await row('acct1').getByTestId('account-proxy').filter({ hasText: 'Direct' }).waitFor();
    await eventually(
      async () => (await row('acct0').getByTestId('proxy-shared').count()) === 0,
      'badge gone',
    );
    const [stored] = await query(gw, `SELECT "proxyEndpoint" FROM accounts WHERE id = $1`, [ids[1]]);
    expect(stored.proxyEndpoint).toBeNull();
  }, 60_000);

  it('an account whose proxy refuses connections shows proxy_unreachable with the host and the fix', async () => {
    // acct0's proxy is the closed port: requests fail over to the others, none fails for the client.
    for (let n = 0; n < 6; n++) {
      const r = await client.responses.create({ model: 'gpt-5.5', input: `hello ${n}` });
      expect(r.output_text).toBeTruthy();
    }
    await eventually(async () => {
      const [a] = await query(gw, `SELECT status FROM accounts WHERE id = $1`, [ids[0]]);
      return a.status === 'proxy_unreachable';
    }, 'acct0 marked proxy_unreachable');
    await page.reload();
    const cause = row('acct0').getByTestId('account-cause');
    await cause.waitFor();
    expect(await cause.getAttribute('data-cause')).toBe('proxy_unreachable');
    const text = await cause.innerText();
    console.log(`acct0 cause on the page: ${text.replace(/\n/g, ' | ')}`);
    expect(text).toContain(`127.0.0.1:${port}`);
    expect(text).toMatch(/Fix: Check the proxy/);
    expect(await row('acct1').getByTestId('account-cause').count()).toBe(0);
    a11y.push(await axe(page, 'accounts with a dead proxy'));
    // No credential in anything the browser was sent, from the first page to this one.
    const bodies = (await net.settle()).map((s) => s.body).join('\n');
    expect(bodies.length).toBeGreaterThan(0);
    for (const secret of [SECRET, OTHER_SECRET]) expect(bodies).not.toContain(secret);
    expect(await page.content()).not.toContain(SECRET);
    expect(a11y.flatMap((r) => r.violations)).toEqual([]);
  }, 60_000);
});
