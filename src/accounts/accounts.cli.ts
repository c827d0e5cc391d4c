import { MetricsModule } from '../metrics/metrics.module.js';
import { spawn } from 'node:child_process';
import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { PrismaModule } from '../prisma/prisma.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { QueueModule } from '../queue/queue.module.js';
import { AccountsModule } from './accounts.module.js';
import { AccountsService } from './accounts.service.js';
import type { AccountView } from './account-view.js';
import { AccountsRepository } from './accounts.repository.js';
import { CredentialsCipher } from './credentials.js';

/**
 * Admin CLI commands of the accounts module: `auth status`, `accounts reencrypt` (and `auth login [--device]` in
 * login/login.cli.ts). They run a small Nest context (config, Postgres, Redis, queue, accounts) without HTTP or
 * worker.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Opens a URL in the user's browser (best effort). */
  openBrowser(url: string): void;
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  openBrowser: (url) => {
    const cmd =
      process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    try {
      const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
      child.on('error', () => {});
      child.unref();
    } catch {
      // no browser here: the URL is printed anyway
    }
  },
};

@Module({})
class AccountsCliModule {
  static forRoot(config: AppConfig, extra: Type[]): DynamicModule {
    return {
      module: AccountsCliModule,
      imports: [
        ConfigModule.forRoot(config),
        PrismaModule,
        RedisModule,
        QueueModule,
        MetricsModule,
        AccountsModule,
        ...extra,
      ],
    };
  }
}

export async function withAccountsContext<T>(
  config: AppConfig,
  fn: (ctx: INestApplicationContext) => Promise<T>,
  /** Modules on top of AccountsModule (e.g. the login flows). */
  extra: Type[] = [],
): Promise<T> {
  const ctx = await NestFactory.createApplicationContext(AccountsCliModule.forRoot(config, extra), {
    logger: false,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export interface ParsedArgs {
  flags: Set<string>;
  values: Record<string, string>;
}

export function parseArgs(args: string[], valued: string[] = []): ParsedArgs {
  const flags = new Set<string>();
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) continue;
    const [name, inline] = a.slice(2).split('=', 2);
    if (valued.includes(name)) values[name] = inline ?? args[++i] ?? '';
    else flags.add(name);
  }
  return { flags, values };
}

function ago(d: string | null, now: number): string {
  if (!d) return '';
  const s = Math.round((Date.parse(d) - now) / 1000);
  const abs = Math.abs(s);
  const txt =
    abs >= 86400
      ? `${Math.floor(abs / 86400)}d`
      : abs >= 3600
        ? `${Math.floor(abs / 3600)}h${Math.floor((abs % 3600) / 60)}m`
        : abs >= 60
          ? `${Math.floor(abs / 60)}m`
          : `${abs}s`;
  return s > 0 ? ` (in ${txt})` : ` (${txt} ago)`;
}

/** Usage-limit state for display: cooldown first, then any "*percent*" numbers of the latest snapshot. */
export function usageState(
  a: Pick<AccountView, 'cooldownUntil' | 'usageSnapshot'>,
  now = Date.now(),
): string {
  if (a.cooldownUntil && Date.parse(a.cooldownUntil) > now) return `cooling down until ${a.cooldownUntil}`;
  const parts: string[] = [];
  const walk = (o: unknown, path: string) => {
    if (!o || typeof o !== 'object' || parts.length >= 4) return;
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      const p = path ? `${path}.${k}` : k;
      if (typeof v === 'number' && /percent/i.test(k)) parts.push(`${p}=${v}%`);
      else if (v && typeof v === 'object') walk(v, p);
    }
  };
  walk(a.usageSnapshot, '');
  return parts.length ? parts.join(' ') : a.usageSnapshot ? 'snapshot recorded' : 'no data';
}

export function formatStatus(accounts: AccountView[], now = Date.now()): string {
  if (accounts.length === 0) return 'No accounts. Add one with `auth login`.\n';
  const lines: string[] = [];
  for (const a of accounts) {
    lines.push(`${a.label || a.id}${a.enabled ? '' : ' [disabled]'}`);
    lines.push(`  email:        ${a.email ?? 'unknown'}`);
    lines.push(`  plan:         ${a.planType ?? 'unknown'}`);
    lines.push(`  status:       ${a.status}${a.statusReason ? ` (${a.statusReason})` : ''}`);
    lines.push(`  token expiry: ${a.accessTokenExpiresAt ?? 'unknown'}${ago(a.accessTokenExpiresAt, now)}`);
    lines.push(`  last refresh: ${a.lastRefreshAt ?? 'never'}${ago(a.lastRefreshAt, now)}`);
    lines.push(`  usage limit:  ${usageState(a, now)}`);
    if (a.lastError) lines.push(`  last error:   ${a.lastError}`);
    lines.push(`  id:           ${a.id} (ChatGPT account ${a.chatgptAccountId})`);
  }
  return `${lines.join('\n')}\n`;
}

/** `auth status [--json]`: every account with email, plan, status, expiry, last refresh, usage-limit state. */
export async function authStatus(config: AppConfig, args: string[], io: CliIo = processIo): Promise<number> {
  const a = parseArgs(args);
  return withAccountsContext(config, async (ctx) => {
    const accounts = await ctx.get(AccountsService).list();
    io.out(a.flags.has('json') ? `${JSON.stringify(accounts, null, 2)}\n` : formatStatus(accounts));
    return 0;
  });
}

/** `accounts reencrypt`: re-seals every account written with an older key (ENCRYPTION_KEYS_OLD) with ENCRYPTION_KEY. */
export async function accountsReencrypt(
  config: AppConfig,
  _args: string[],
  io: CliIo = processIo,
): Promise<number> {
  return withAccountsContext(config, async (ctx) => {
    const repo = ctx.get(AccountsRepository);
    const cipher = ctx.get(CredentialsCipher);
    const rows = await repo.findNotSealedWith(cipher.primaryKeyId);
    let moved = 0;
    let failed = 0;
    for (const r of rows) {
      try {
        const next = cipher.seal(r.id, cipher.open(r.id, r.credentials, r.credentialsKeyId));
        // Optimistic: skip a row a concurrent refresh rewrote meanwhile (it is then sealed with the new key already).
        if (await repo.replaceCredentialsIf(r.id, { keyId: r.credentialsKeyId, data: r.credentials }, next))
          moved++;
      } catch (err) {
        failed++;
        io.err(`account ${r.id}: ${(err as Error).message}\n`);
      }
    }
    // The egress proxy URLs are sealed with the same key ring.
    for (const r of await repo.findProxyNotSealedWith(cipher.primaryKeyId)) {
      try {
        const next = cipher.sealProxy(r.id, cipher.openProxy(r.id, r.proxyUrlSealed!, r.proxyKeyId!));
        await repo.update(r.id, { proxyUrlSealed: next.data, proxyKeyId: next.keyId });
        moved++;
      } catch (err) {
        failed++;
        io.err(`account ${r.id} (proxy): ${(err as Error).message}\n`);
      }
    }
    if (moved) await ctx.get(AccountsService).markAllChanged();
    io.out(`re-encrypted ${moved} account(s) with key ${cipher.primaryKeyId}; ${failed} failed\n`);
    return failed ? 1 : 0;
  });
}
