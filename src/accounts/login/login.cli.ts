import { createServer, type Server } from 'node:http';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import type { AccountView } from '../account-view.js';
import { parseArgs, processIo, withAccountsContext, type CliIo } from '../accounts.cli.js';
import { AccountLoginService } from './account-login.service.js';
import { AccountLoginModule } from './login.module.js';

function describe(a: AccountView): string {
  return `${a.email ?? 'unknown email'} (plan ${a.planType ?? 'unknown'}, ChatGPT account ${a.chatgptAccountId}, id ${a.id})`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body>`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `auth login`: PKCE with a local callback server on 127.0.0.1:1455 (or `--device`). */
export async function authLogin(config: AppConfig, args: string[], io: CliIo = processIo): Promise<number> {
  const a = parseArgs(args, ['port', 'label']);
  return withAccountsContext(
    config,
    async (ctx) => {
      const logins = ctx.get(AccountLoginService);
      if (a.flags.has('device')) return deviceLogin(logins, io);
      const port = a.values.port ? Number(a.values.port) : 1455;
      const start = await logins.startPkce({ type: 'cli' });
      let server: Server | undefined;
      const done = new Promise<number>((resolve) => {
        server = createServer((req, res) => {
          const url = new URL(req.url ?? '/', 'http://127.0.0.1');
          if (url.pathname !== '/auth/callback') {
            res.writeHead(404).end();
            return;
          }
          logins
            .completePkce(start.loginId, `http://127.0.0.1:${port}${req.url}`, 'cli')
            .then((r) => {
              res
                .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
                .end(PAGE('Signed in', 'You can close this window and return to the terminal.'));
              io.out(`Logged in: ${describe(r.account)}${r.created ? '' : ' (existing account updated)'}\n`);
              resolve(0);
            })
            .catch((err: unknown) => {
              const msg = err instanceof ApiError ? err.message : 'The login could not be completed.';
              res
                .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
                .end(PAGE('Sign-in failed', escapeHtml(msg)));
              io.err(`Login failed: ${msg}\n`);
              // A wrong-state callback (another tab) leaves the login open; anything else ends it.
              if (!(err instanceof ApiError && err.code === 'state_mismatch')) resolve(1);
            });
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      }).catch((err: NodeJS.ErrnoException) => {
        io.err(
          `Cannot listen on 127.0.0.1:${port} (${err.code ?? err.message}). Is another login running? Try --device.\n`,
        );
        throw err;
      });
      io.out(
        `Starting local login server on http://127.0.0.1:${port}.\nIf your browser did not open, navigate to this URL to authenticate:\n\n${start.authorizeUrl}\n\n`,
      );
      io.out('On a remote or headless machine? Use `auth login --device` instead.\n');
      if (!a.flags.has('no-browser')) io.openBrowser(start.authorizeUrl);
      const timeout = new Promise<number>((resolve) => {
        const t = setTimeout(
          () => {
            io.err('Login timed out.\n');
            resolve(1);
          },
          Date.parse(start.expiresAt) - Date.now(),
        );
        t.unref();
      });
      try {
        return await Promise.race([done, timeout]);
      } finally {
        await new Promise((r) => server!.close(r));
      }
    },
    [AccountLoginModule],
  );
}

async function deviceLogin(logins: AccountLoginService, io: CliIo): Promise<number> {
  const d = await logins.startDevice({ type: 'cli' }, { background: false });
  const minutes = Math.max(1, Math.round((Date.parse(d.expiresAt) - Date.now()) / 60_000));
  io.out(
    `Follow these steps to sign in with ChatGPT using device code authorization:\n` +
      `1. Open this link in your browser and sign in to your account\n   ${d.verificationUri}\n` +
      `2. Enter this one-time code (expires in ${minutes} minutes)\n   ${d.userCode}\n`,
  );
  for (let attempt = 1; ; attempt++) {
    await sleep(d.interval * 1000);
    const s = await logins.pollDevice(d.loginId, attempt, false);
    if (s === 'pending') continue;
    const v = await logins.status(d.loginId).catch(() => null);
    if (s === 'completed' && v?.accountId) {
      io.out(`Logged in: account id ${v.accountId}\n`);
      return 0;
    }
    io.err(`Login ${s}${v?.error ? `: ${v.error.message}` : ''}\n`);
    return 1;
  }
}
