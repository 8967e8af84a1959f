// The one crypto seam of the core. Node uses node:crypto KeyObjects (synchronous, about twice
// as fast as WebCrypto for ECDSA and 30x for short hashes); browsers and edge runtimes use
// WebCrypto. Everything above this file is portable and sees keys only as opaque handles.

export type JwsAlgorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512';

export const SUPPORTED_ALGORITHMS: readonly JwsAlgorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

/** A public JWK as it appears in a DPoP header (only the members that define the key). */
export interface PublicJwk {
  kty: 'EC' | 'RSA' | 'OKP';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** A private JWK (public members plus the private ones). */
export interface PrivateJwk extends PublicJwk {
  d: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  [member: string]: unknown;
}

/** An imported key, opaque above the seam (a KeyObject on Node, a CryptoKey in browsers). */
export type KeyHandle = object;

export interface GeneratedKeyPair {
  privateKey: KeyHandle;
  publicJwk: PublicJwk;
}

export interface CryptoProvider {
  readonly name: string;
  sha256(data: Uint8Array): Promise<Uint8Array>;
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  importPublicKey(jwk: PublicJwk, alg: JwsAlgorithm): Promise<KeyHandle>;
  verify(alg: JwsAlgorithm, key: KeyHandle, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * Optional synchronous fast paths (Node): `signingInput` is the ASCII JWS signing input and
   * `text` an ASCII string, so no byte copy is needed above the seam.
   */
  verifySync?(alg: JwsAlgorithm, key: KeyHandle, signingInput: string, signature: Uint8Array): boolean;
  sha256Sync?(text: string): Uint8Array;
  /** Generates a key pair; `extractable: false` keeps the private key from ever being exported. */
  generateKeyPair(alg: JwsAlgorithm, options?: { extractable?: boolean }): Promise<GeneratedKeyPair>;
  importPrivateKey(
    jwk: PrivateJwk,
    alg: JwsAlgorithm,
    options?: { extractable?: boolean },
  ): Promise<GeneratedKeyPair>;
  /** Exports a private key as JWK; throws for keys generated or imported as non-extractable. */
  exportPrivateKey(key: KeyHandle): Promise<PrivateJwk>;
  sign(alg: JwsAlgorithm, key: KeyHandle, data: Uint8Array): Promise<Uint8Array>;
}

export interface AlgorithmInfo {
  kty: PublicJwk['kty'];
  /** Required curve for EC/OKP keys. */
  crv?: string;
  /** SHA-2 digest bits, for RSA and ECDSA. */
  hash?: 256 | 384 | 512;
  /** Raw signature length in bytes, where it is fixed. */
  signatureLength?: number;
  family: 'ecdsa' | 'eddsa' | 'rsa-pkcs1' | 'rsa-pss';
}

export const ALGORITHMS: Readonly<Record<JwsAlgorithm, AlgorithmInfo>> = {
  ES256: { kty: 'EC', crv: 'P-256', hash: 256, signatureLength: 64, family: 'ecdsa' },
  ES384: { kty: 'EC', crv: 'P-384', hash: 384, signatureLength: 96, family: 'ecdsa' },
  ES512: { kty: 'EC', crv: 'P-521', hash: 512, signatureLength: 132, family: 'ecdsa' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', signatureLength: 64, family: 'eddsa' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519', signatureLength: 64, family: 'eddsa' },
  RS256: { kty: 'RSA', hash: 256, family: 'rsa-pkcs1' },
  RS384: { kty: 'RSA', hash: 384, family: 'rsa-pkcs1' },
  RS512: { kty: 'RSA', hash: 512, family: 'rsa-pkcs1' },
  PS256: { kty: 'RSA', hash: 256, family: 'rsa-pss' },
  PS384: { kty: 'RSA', hash: 384, family: 'rsa-pss' },
  PS512: { kty: 'RSA', hash: 512, family: 'rsa-pss' },
};

export function isSupportedAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg);
}

/** Minimum RSA modulus accepted for DPoP and client keys. */
export const MIN_RSA_BITS = 2048;

/** Picks the algorithm a private/public JWK is meant for when the caller did not say. */
export function defaultAlgorithmFor(jwk: PublicJwk): JwsAlgorithm {
  if (jwk.kty === 'RSA') return 'PS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  if (jwk.crv === 'P-384') return 'ES384';
  if (jwk.crv === 'P-521') return 'ES512';
  return 'ES256';
}
