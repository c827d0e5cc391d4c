import { withDeviceIdentity } from './device-identity.js';

const id = {
  installationId: '3c1c2b3e-6f0e-4d8e-9b7a-1a2b3c4d5e6f',
  threadId: '01a20e51-e2ec-7770-a55c-59ede9cd71a8',
};

describe('withDeviceIdentity', () => {
  it('appends client_metadata as the last key, in the CLI order, keeping the body byte-identical before it', () => {
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, input: [], text: { verbosity: 'low' } });
    const out = withDeviceIdentity(body, id);
    expect(out.startsWith(body.slice(0, -1))).toBe(true);
    const parsed = JSON.parse(out);
    expect(Object.keys(parsed).at(-1)).toBe('client_metadata');
    expect(Object.keys(parsed.client_metadata)).toEqual([
      'thread_id',
      'session_id',
      'x-codex-window-id',
      'x-codex-installation-id',
    ]);
    expect(parsed.client_metadata['x-codex-installation-id']).toBe(id.installationId);
    expect(parsed.client_metadata['x-codex-window-id']).toBe(`${id.threadId}:0`);
  });
  it('works on an empty object and leaves anything else alone', () => {
    expect(JSON.parse(withDeviceIdentity('{}', id)).client_metadata.session_id).toBe(id.threadId);
    expect(withDeviceIdentity('[1]', id)).toBe('[1]');
  });
});
