import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';

/**
 * Helpers of the browser tests: Debian's chromium driven by playwright-core (no browser download here), an
 * accessibility check with axe-core, screenshots at desktop and phone width, and a recorder of every response
 * body the browser sees (for the "no secret in the browser" checks).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUTPUT = join(process.cwd(), 'test-output', 'browser');
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Seen {
  at: number;
  url: string;
  method: string;
  status: number;
  body: string;
}

/** Keeps every response body of the page's origin (HTML, JS, CSS, JSON, CSV) with the time it arrived. */
export class NetworkRecorder {
  readonly seen: Seen[] = [];
  private pending: Promise<void>[] = [];
  constructor(private readonly origin: string) {}
  attach(page: Page): void {
    page.on('response', (r: Response) => {
      if (!r.url().startsWith(this.origin)) return;
      const at = Date.now();
      this.pending.push(
        r
          .text()
          .then((body) => {
            this.seen.push({ at, url: r.url(), method: r.request().method(), status: r.status(), body });
          })
          .catch(() => undefined),
      );
    });
  }
  async settle(): Promise<Seen[]> {
    await Promise.all(this.pending);
    return this.seen;
  }
}

export interface A11yResult {
  page: string;
  violations: { id: string; impact: string | null | undefined; help: string; targets: string[] }[];
}

/** axe-core on the page as it is; returns the serious and critical violations. */
export async function axe(page: Page, name: string): Promise<A11yResult> {
  const r = await new AxeBuilder({ page }).analyze();
  return {
    page: name,
    violations: r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
      })),
  };
}

/**
 * Screenshots the page at desktop and phone width and runs axe at desktop width (and at phone width too when
 * asked: the layout changes there, the components do not), then returns to desktop width.
 * Files: test-output/browser/screenshots/<name>-desktop.png and -phone.png.
 */
export async function capture(
  page: Page,
  name: string,
  results: A11yResult[],
  opts: { axePhone?: boolean } = {},
): Promise<void> {
  const dir = join(OUTPUT, 'screenshots');
  mkdirSync(dir, { recursive: true });
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(dir, `${name}-${label}.png`), fullPage: true });
    if (label === 'desktop' || opts.axePhone) results.push(await axe(page, `${name} (${label})`));
  }
  await page.setViewportSize(DESKTOP);
  writeFileSync(join(OUTPUT, 'a11y.json'), JSON.stringify(results, null, 2));
}

/** True when the page has no horizontal scroll at phone width (then back to desktop width). */
export async function noHorizontalScroll(page: Page): Promise<boolean> {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(250);
  const ok = await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
  await page.setViewportSize(DESKTOP);
  return ok;
}

/** `describe` when Chromium and the built web admin are there (always in CI), else `describe.skip` with a warning. */
export function browserDescribe(): typeof describe | typeof describe.skip {
  const ready = existsSync(CHROMIUM) && existsSync(join(process.cwd(), 'web', 'dist', 'index.html'));
  if (!ready && !process.env.CI)
    console.warn(`browser test skipped: needs ${CHROMIUM} (apt-get install chromium) and npm run build`);
  return ready || process.env.CI ? describe : describe.skip;
}

/** Opens the web admin and signs in with email and password. */
export async function signIn(
  page: Page,
  url: string,
  who: { email: string; password: string },
): Promise<void> {
  await page.goto(`${url}/admin/`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
