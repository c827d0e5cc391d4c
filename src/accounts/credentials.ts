import { KeyRing } from '../common/crypto.js';

/**
 * The stored credential format (see account-source.ts): KeyRing.seal(JSON.stringify({access_token, refresh_token,
 * id_token}), aad = account id), key id beside it. A fresh nonce per write (KeyRing.seal), the row id as associated
 * data so a ciphertext copied to another row does not open.
 */
export interface StoredTokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
}

export interface SealedCredentials {
  keyId: string;
  data: Uint8Array<ArrayBuffer>;
}

export class CredentialsCipher {
  constructor(private readonly ring: KeyRing) {}

  get primaryKeyId(): string {
    return this.ring.primaryId;
  }

  seal(accountId: string, tokens: StoredTokens): SealedCredentials {
    const { keyId, data } = this.ring.seal(
      JSON.stringify({
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        id_token: tokens.id_token,
      }),
      accountId,
    );
    return { keyId, data: new Uint8Array(data) };
  }

  open(accountId: string, data: Uint8Array, keyId: string): StoredTokens {
    const plain = JSON.parse(
      this.ring.open(data, keyId, accountId).toString('utf8'),
    ) as Partial<StoredTokens>;
    return {
      access_token: plain.access_token ?? '',
      refresh_token: plain.refresh_token ?? '',
      id_token: plain.id_token ?? '',
    };
  }

  /** The egress proxy URL (it may hold a credential): sealed like the tokens, aad `<account id>:proxy`. */
  sealProxy(accountId: string, url: string): SealedCredentials {
    const { keyId, data } = this.ring.seal(url, `${accountId}:proxy`);
    return { keyId, data: new Uint8Array(data) };
  }

  openProxy(accountId: string, data: Uint8Array, keyId: string): string {
    return this.ring.open(data, keyId, `${accountId}:proxy`).toString('utf8');
  }
}
