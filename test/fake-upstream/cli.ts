import { FakeUpstream } from './index.ts';

/** `npm run fake-upstream`: the fake OAuth server + Codex backend for local demos. */
const fake = await FakeUpstream.start({ port: Number(process.env.FAKE_UPSTREAM_PORT ?? 0) || undefined });
const acct = fake.addAccount({
  chatgptAccountId: 'acct-demo',
  email: 'demo@example.test',
  accessTtlSeconds: 3600,
});
const authJson = {
  OPENAI_API_KEY: null,
  tokens: {
    id_token: acct.idToken,
    access_token: acct.accessToken,
    refresh_token: acct.refreshToken,
    account_id: acct.chatgptAccountId,
  },
  last_refresh: new Date().toISOString(),
};
console.log(`fake upstream listening on ${fake.url}`);
console.log(`  OPENAI_AUTH_ISSUER=${fake.url}`);
console.log(`  CODEX_BASE_URL=${fake.codexBaseUrl}`);
console.log('demo account auth.json (import it with POST /admin/api/accounts/import):');
console.log(JSON.stringify(authJson));
process.on('SIGINT', () => void fake.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
