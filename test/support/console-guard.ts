import { format } from 'node:util';

/**
 * Jest setup (setupFilesAfterEnv in jest.config.js): a test that makes anything write to console.error or
 * console.warn fails, with the text. Library fallbacks (BullMQ/ioredis printing unhandled 'error' events,
 * Node warnings routed to the console) are bugs in how we use them, not noise to scroll past. A test that
 * expects console output spies on the method itself (jest.spyOn replaces this wrapper for its duration).
 */
const unexpected: string[] = [];

for (const method of ['error', 'warn'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    unexpected.push(`console.${method}: ${format(...args).slice(0, 2000)}`);
    original(...args);
  };
}

afterEach(() => {
  if (!unexpected.length) return;
  const seen = unexpected.splice(0);
  throw new Error(`unexpected console output during the test:\n${seen.join('\n')}`);
});

afterAll(() => {
  // Output from hooks (beforeAll/afterAll) after the last test still counts.
  if (!unexpected.length) return;
  const seen = unexpected.splice(0);
  throw new Error(`unexpected console output in a hook:\n${seen.join('\n')}`);
});
