import { randomBytes } from 'node:crypto';
import { KeyRing } from '../common/crypto.js';
import { CredentialsCipher } from './credentials.js';

describe('CredentialsCipher', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };
  const tokens = { access_token: 'at-secret', refresh_token: 'rt-secret', id_token: 'id-secret' };

  it('round-trips and never holds the tokens in clear', () => {
    const c = new CredentialsCipher(new KeyRing([k1]));
    const sealed = c.seal('acct-1', tokens);
    expect(sealed.keyId).toBe('k1');
    expect(Buffer.from(sealed.data).toString('latin1')).not.toContain('secret');
    expect(c.open('acct-1', sealed.data, sealed.keyId)).toEqual(tokens);
    expect(Buffer.from(c.seal('acct-1', tokens).data).equals(Buffer.from(sealed.data))).toBe(false);
  });
  it('binds to the account id', () => {
    const c = new CredentialsCipher(new KeyRing([k1]));
    const sealed = c.seal('acct-1', tokens);
    expect(() => c.open('acct-2', sealed.data, sealed.keyId)).toThrow();
  });
  it('opens rows of an old key after rotation and writes with the new one', () => {
    const old = new CredentialsCipher(new KeyRing([k1]));
    const sealed = old.seal('a', tokens);
    const rotated = new CredentialsCipher(new KeyRing([k2, k1]));
    expect(rotated.open('a', sealed.data, 'k1')).toEqual(tokens);
    expect(rotated.seal('a', tokens).keyId).toBe('k2');
    expect(() => new CredentialsCipher(new KeyRing([k2])).open('a', sealed.data, 'k1')).toThrow(
      /ENCRYPTION_KEYS_OLD/,
    );
  });

  it('seals the proxy URL apart from the tokens: a token ciphertext never opens as a proxy, nor for another row', () => {
    const c = new CredentialsCipher(new KeyRing([k1]));
    const sealed = c.sealProxy('a', 'socks5://u:proxy-secret@h:1080');
    expect(Buffer.from(sealed.data).toString('latin1')).not.toContain('secret');
    expect(c.openProxy('a', sealed.data, sealed.keyId)).toBe('socks5://u:proxy-secret@h:1080');
    expect(() => c.openProxy('b', sealed.data, sealed.keyId)).toThrow();
    expect(() => c.open('a', sealed.data, sealed.keyId)).toThrow();
  });
});
