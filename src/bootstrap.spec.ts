import type { IncomingMessage } from 'node:http';
import { requestIdFor } from './bootstrap.js';

const req = (v?: string | string[]) =>
  ({ headers: v === undefined ? {} : { 'x-request-id': v } }) as IncomingMessage;

describe('requestIdFor', () => {
  it.each(['abc-123', 'A.b_c:d-9', 'x'.repeat(128)])('accepts a sane client id %s', (id) => {
    expect(requestIdFor(req(id))).toBe(id);
  });
  it.each([undefined, '', 'with space', '<script>', 'x'.repeat(129), 'é', ['a', 'b']])(
    'replaces %p with a fresh id',
    (v) => {
      const id = requestIdFor(req(v as any));
      expect(id).toMatch(/^req_[0-9a-f]{32}$/);
      expect(requestIdFor(req(v as any))).not.toBe(id);
    },
  );
});
