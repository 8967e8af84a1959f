// PKCE (RFC 7636) with S256 only: the plain method sends the verifier in the clear.
import { b64uEncode, type CryptoProvider, getDefaultCrypto } from '@keybound/core';

export interface Pkce {
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: 'S256';
}

/** A fresh 256-bit verifier (43 base64url characters) and its S256 challenge. */
export async function createPkce(crypto?: CryptoProvider): Promise<Pkce> {
  const codeVerifier = b64uEncode(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  return {
    codeVerifier,
    codeChallenge: await pkceChallenge(codeVerifier, crypto),
    codeChallengeMethod: 'S256',
  };
}

export async function pkceChallenge(codeVerifier: string, crypto?: CryptoProvider): Promise<string> {
  return b64uEncode(await (crypto ?? getDefaultCrypto()).sha256(new TextEncoder().encode(codeVerifier)));
}
