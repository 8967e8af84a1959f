// RFC 7638 JWK thumbprints (SHA-256, base64url), the value of cnf.jkt and dpop_jkt.
import { canonicalJwk, parsePublicJwk } from './jwk.js';
import { b64uEncode, utf8 } from './lib/base64url.js';
import type { CryptoProvider, PublicJwk } from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';

/** Thumbprint of a public (or private: only the public members are used) JWK. */
export async function jwkThumbprint(
  jwk: PublicJwk | Record<string, unknown>,
  crypto?: CryptoProvider,
): Promise<string> {
  const { d, p, q, dp, dq, qi, oth, k, ...publicPart } = jwk as Record<string, unknown>;
  return thumbprintOfCanonical(canonicalJwk(parsePublicJwk(publicPart)), crypto);
}

export async function thumbprintOfCanonical(canonical: string, crypto?: CryptoProvider): Promise<string> {
  return b64uEncode(await (crypto ?? getDefaultCrypto()).sha256(utf8(canonical)));
}
