// A DPoP key pair as the rest of keybound handles it: the algorithm, an opaque private key
// (KeyObject or CryptoKey), its public JWK and RFC 7638 thumbprint.
import { KeyboundError } from './errors.js';
import { assertJwkFitsAlgorithm, parsePublicJwk } from './jwk.js';
import {
  type CryptoProvider,
  defaultAlgorithmFor,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  type KeyHandle,
  type PrivateJwk,
  type PublicJwk,
} from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';
import { jwkThumbprint } from './thumbprint.js';

export interface DpopKey {
  readonly alg: JwsAlgorithm;
  readonly privateKey: KeyHandle;
  readonly publicJwk: PublicJwk;
  /** RFC 7638 thumbprint of publicJwk: the value of cnf.jkt and dpop_jkt. */
  readonly jkt: string;
}

export interface KeyOptions {
  crypto?: CryptoProvider;
  /** Whether the private key may ever be exported (default false). */
  extractable?: boolean;
}

function checkAlg(alg: unknown): JwsAlgorithm {
  if (!isSupportedAlgorithm(alg))
    throw new KeyboundError('alg_not_allowed', 'unsupported algorithm', { received: String(alg) });
  return alg;
}

/** Generates a new DPoP key (ES256 unless told otherwise). */
export async function generateDpopKey(
  alg: JwsAlgorithm = 'ES256',
  options: KeyOptions = {},
): Promise<DpopKey> {
  const crypto = options.crypto ?? getDefaultCrypto();
  const { privateKey, publicJwk } = await crypto.generateKeyPair(checkAlg(alg), {
    extractable: options.extractable ?? false,
  });
  return { alg, privateKey, publicJwk, jkt: await jwkThumbprint(publicJwk, crypto) };
}

/** Imports a private JWK as a DPoP key; alg defaults to the JWK's own "alg" or its key type's usual one. */
export async function importDpopKey(
  jwk: PrivateJwk,
  alg?: JwsAlgorithm,
  options: KeyOptions = {},
): Promise<DpopKey> {
  const crypto = options.crypto ?? getDefaultCrypto();
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') {
    throw new KeyboundError('jwk_invalid', 'a private JWK (with "d") is required');
  }
  const chosen = checkAlg(
    alg ?? (jwk.alg as string | undefined) ?? defaultAlgorithmFor(parsePublicJwk(publicMembers(jwk))),
  );
  assertJwkFitsAlgorithm(parsePublicJwk(publicMembers(jwk)), chosen);
  const { privateKey, publicJwk } = await crypto.importPrivateKey(jwk, chosen, {
    extractable: options.extractable ?? false,
  });
  return { alg: chosen, privateKey, publicJwk, jkt: await jwkThumbprint(publicJwk, crypto) };
}

/** Builds a DpopKey from a private key handle the caller already holds and its public JWK. */
export async function dpopKeyFromHandle(
  privateKey: KeyHandle,
  publicJwk: PublicJwk,
  alg: JwsAlgorithm,
  crypto?: CryptoProvider,
): Promise<DpopKey> {
  const pub = parsePublicJwk(publicJwk);
  assertJwkFitsAlgorithm(pub, checkAlg(alg));
  return { alg, privateKey, publicJwk: pub, jkt: await jwkThumbprint(pub, crypto) };
}

/** Exports the private key as a JWK (only for keys created extractable). */
export async function exportPrivateJwk(key: DpopKey, crypto?: CryptoProvider): Promise<PrivateJwk> {
  return (crypto ?? getDefaultCrypto()).exportPrivateKey(key.privateKey);
}

function publicMembers(jwk: PrivateJwk): Record<string, unknown> {
  const { d, p, q, dp, dq, qi, oth, ...rest } = jwk;
  return rest;
}
