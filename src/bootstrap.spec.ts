import type { IncomingMessage } from 'node:http';
import { clientRequestId, requestIdFor, trustProxySetting } from './bootstrap.js';

const req = (v?: string | string[]) =>
  ({ headers: v === undefined ? {} : { 'x-request-id': v } }) as IncomingMessage;

describe('requestIdFor / clientRequestId', () => {
  it.each(['abc-123', 'A.b_c:d-9', 'x'.repeat(128)])(
    'keeps a sane client id %s as the client field only',
    (id) => {
      expect(clientRequestId(req(id))).toBe(id);
      expect(requestIdFor(req(id))).toMatch(/^req_[0-9a-f]{32}$/);
    },
  );
  it.each([undefined, '', 'with space', '<script>', 'x'.repeat(129), 'é', ['a', 'b']])(
    'drops %p as a client id; our id is fresh each time',
    (v) => {
      expect(clientRequestId(req(v as any))).toBeNull();
      const id = requestIdFor(req(v as any));
      expect(id).toMatch(/^req_[0-9a-f]{32}$/);
      expect(requestIdFor(req(v as any))).not.toBe(id);
    },
  );
});

describe('trustProxySetting', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['10.0.0.0/8,127.0.0.1', '10.0.0.0/8,127.0.0.1'],
  ])('%s → %j', (input, out) => expect(trustProxySetting(input)).toEqual(out));
});

it('a hop count trusts that many proxies', () => {
  const f = trustProxySetting('2') as (a: string, hop: number) => boolean;
  expect([f('x', 0), f('x', 1), f('x', 2)]).toEqual([true, true, false]);
});
