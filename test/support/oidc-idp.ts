import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface IdpPerson {
  email: string;
  email_verified: boolean;
  name?: string;
  groups?: string[];
}

/**
 * A real OpenID Provider (`oidc-provider`) on an ephemeral loopback port. Its login and consent screens are
 * replaced by one step: whoever `signInAs` names is signed in and consents. Start it before the gateway (the
 * gateway needs the issuer), then `register` the gateway's redirect URI.
 */
export class TestIdp {
  readonly people = new Map<string, IdpPerson>();
  signInAs = '';
  private provider: Provider | null = null;

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<TestIdp> {
    let idp: TestIdp | null = null;
    const server = createServer((req, res) => void idp!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    idp = new TestIdp(server, `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
    return idp;
  }

  async register(client: { clientId: string; clientSecret: string; redirectUri: string }): Promise<void> {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test' };
    // The in-memory adapter is what a test IdP wants; its "not for production" warning would fail the console
    // guard, so exactly that one line is dropped while the provider is built.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (!String(args[0]).includes('development-only in-memory adapter')) warn(...args);
    };
    try {
      this.provider = this.build(client, jwk);
    } finally {
      console.warn = warn;
    }
  }

  private build(
    client: { clientId: string; clientSecret: string; redirectUri: string },
    jwk: object,
  ): Provider {
    const ttl = {
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      Interaction: 600,
      Session: 600,
    };
    return new Provider(this.issuer, {
      ttl,
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uris: [client.redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: [jwk] },
      cookies: { keys: ['test-idp-cookie-key'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      findAccount: (_ctx: unknown, sub: string) => {
        const p = this.people.get(sub);
        return p ? { accountId: sub, claims: () => ({ sub, ...p }) } : undefined;
      },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    });
  }

  private async handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
    const provider = this.provider!;
    if (!req.url?.startsWith('/interaction/')) return provider.callback()(req, res);
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: this.signInAs } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant = new provider.Grant({
      accountId: details.session!.accountId,
      clientId: String(details.params.client_id),
    });
    const missing = details.prompt.details;
    if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (Array.isArray(missing.missingOIDCClaims)) grant.addOIDCClaims(missing.missingOIDCClaims as string[]);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A browser's cookie jar, enough for two loopback servers whose cookie names differ. */
export class CookieJar {
  private readonly jar = new Map<string, string>();
  header(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      const gone = attrs.some((a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a));
      if (gone || !value) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  get(name: string): string | undefined {
    return this.jar.get(name);
  }
}

export interface SsoRun {
  /** Where the gateway's callback sent the browser. */
  landing: URL;
  jar: CookieJar;
  /** The callback URL the IdP sent the browser to, and the browser's flow cookie then (for replay). */
  callbackUrl: string;
  flowCookie: string;
}

/**
 * Walks a browser through gateway start → IdP → gateway callback, following redirects by hand.
 * `editAuthorize` / `editCallback` let a test tamper with the URLs on the way.
 */
export async function ssoSignIn(
  gatewayUrl: string,
  opts: {
    jar?: CookieJar;
    /** Where the walk starts (default: the plain start route); e.g. an IdP URL an invite's SSO start returned. */
    startAt?: URL;
    editAuthorize?: (u: URL) => void;
    editCallback?: (u: URL) => void | Promise<void>;
  } = {},
): Promise<SsoRun> {
  const jar = opts.jar ?? new CookieJar();
  let url = opts.startAt ?? new URL('/admin/api/auth/oidc/start', gatewayUrl);
  let callbackUrl = '';
  let flowCookie = '';
  for (let hops = 0; hops < 20; hops++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res.headers);
    await res.arrayBuffer();
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc)
      throw new Error(`SSO walk stopped at ${url.href} with ${res.status}`);
    const next = new URL(loc, url);
    if (url.pathname === '/admin/api/auth/oidc/callback')
      return { landing: next, jar, callbackUrl, flowCookie };
    if (url.pathname === '/admin/api/auth/oidc/start') opts.editAuthorize?.(next);
    if (next.pathname === '/admin/api/auth/oidc/callback') {
      await opts.editCallback?.(next);
      callbackUrl = next.href;
      flowCookie = jar.get('cg_oidc') ?? '';
    }
    url = next;
  }
  throw new Error('SSO walk: too many redirects');
}
