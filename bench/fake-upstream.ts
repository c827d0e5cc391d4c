import { FakeUpstream } from '../test/fake-upstream/index.ts';

/**
 * The fake upstream as its own process for the bench: no pause between SSE events, no request log, one account.
 * Prints one JSON line (urls + the account's tokens) on stdout once listening. Stream options can be changed at
 * run time with POST /__fake/configure; GET /__fake/stats reports open streams.
 */
const fake = await FakeUpstream.start();
const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
fake.configure({
  eventDelayMs: 0,
  record: false,
  defaultSpec: { text: words, usage: { input_tokens: 20, output_tokens: 60 } },
});
const acct = fake.addAccount({ chatgptAccountId: 'acct-bench', accessTtlSeconds: 24 * 3600 });
process.stdout.write(
  `${JSON.stringify({ url: fake.url, codexBaseUrl: fake.codexBaseUrl, account: acct, pid: process.pid })}\n`,
);
const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
