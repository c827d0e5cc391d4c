import type { AppConfig } from '../config/config.schema.js';

/**
 * The start-up banner (terminal only): where to go next. Printed once after "listening" by `serve` and `all`.
 */

export interface BannerFacts {
  publicUrl: string;
  /** Accounts the pool can use now: enabled, status active, not cooling down. */
  healthyAccounts: number;
  totalAccounts: number;
  adminExists: boolean;
  /** The first-run setup link, when the first-run feature provides one and no admin exists. */
  setupLink?: string;
  metricsProtected: boolean;
}

/**
 * Hook for the first-run setup feature: when it is installed, the banner shows its link instead of the generic
 * hint. Set `firstRun.setupLink = () => url | undefined` at start-up (before the banner is printed).
 */
export const firstRun: { setupLink?: () => string | undefined | Promise<string | undefined> } = {};

/** The counts the banner needs, from two small queries. */
export interface BannerQueries {
  countAccounts(where: Record<string, unknown>): Promise<number>;
  countAdmins(): Promise<number>;
}

export async function gatherBannerFacts(config: AppConfig, q: BannerQueries): Promise<BannerFacts> {
  const now = new Date();
  const [healthyAccounts, totalAccounts, admins] = await Promise.all([
    q.countAccounts({
      enabled: true,
      status: 'active',
      OR: [{ cooldownUntil: null }, { cooldownUntil: { lt: now } }],
    }),
    q.countAccounts({}),
    q.countAdmins(),
  ]);
  const setupLink = admins === 0 ? await firstRun.setupLink?.() : undefined;
  return {
    publicUrl: config.PUBLIC_URL,
    healthyAccounts,
    totalAccounts,
    adminExists: admins > 0,
    setupLink,
    metricsProtected: !!config.METRICS_TOKEN,
  };
}

const BOLD = (s: string, color: boolean) => (color ? `\x1b[1m${s}\x1b[22m` : s);
const DIM = (s: string, color: boolean) => (color ? `\x1b[2m${s}\x1b[22m` : s);

export function renderBanner(f: BannerFacts, color = true): string {
  const base = f.publicUrl.replace(/\/+$/, '');
  const row = (label: string, value: string) => `  ${label.padEnd(12)} ${value}`;
  const accounts =
    f.totalAccounts === 0
      ? 'none yet: log one in with `node dist/main.js auth login` (or from the admin)'
      : `${f.healthyAccounts} of ${f.totalAccounts} healthy`;
  const admin = f.adminExists
    ? `${base}/admin`
    : f.setupLink
      ? `no admin yet: finish setup at ${f.setupLink}`
      : `${base}/admin  (no admin yet: see the setup link above)`;
  return [
    '',
    `  ${BOLD('Codex Gateway is running', color)}`,
    '',
    row('Admin', admin),
    row('OpenAI API', `${base}/v1   ${DIM('(base URL for SDKs, editors and the Codex CLI)', color)}`),
    row('API docs', `${base}/admin/api/docs`),
    row('Metrics', `${base}/metrics${f.metricsProtected ? '   (Bearer METRICS_TOKEN)' : ''}`),
    row('Accounts', accounts),
    '',
    `  ${DIM('Ctrl-C stops it.', color)}`,
    '',
  ].join('\n');
}
