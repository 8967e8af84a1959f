// The portable side of the crypto seam: WebCrypto, with jose for JWK import, export and key
// generation. Used in browsers, edge runtimes, and on Node when chosen explicitly.
import { exportJWK, importJWK, generateKeyPair as joseGenerateKeyPair } from 'jose';
import {
  ALGORITHMS,
  type CryptoProvider,
  type JwsAlgorithm,
  type KeyHandle,
  MIN_RSA_BITS,
  type PrivateJwk,
  type PublicJwk,
} from './crypto.js';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

function asCryptoKey(key: KeyHandle): CryptoKey {
  if (typeof CryptoKey === 'undefined' || !(key instanceof CryptoKey)) {
    throw new TypeError('the WebCrypto provider needs a CryptoKey');
  }
  return key;
}

function signParams(alg: JwsAlgorithm): AlgorithmIdentifier | EcdsaParams | RsaPssParams {
  const info = ALGORITHMS[alg];
  switch (info.family) {
    case 'ecdsa':
      return { name: 'ECDSA', hash: `SHA-${info.hash}` };
    case 'rsa-pss':
      return { name: 'RSA-PSS', saltLength: info.hash! / 8 };
    case 'rsa-pkcs1':
      return { name: 'RSASSA-PKCS1-v1_5' };
    default:
      return { name: 'Ed25519' };
  }
}

function publicJwkOf(jwk: JsonWebKey): PublicJwk {
  if (jwk.kty === 'RSA') return { kty: 'RSA', n: jwk.n!, e: jwk.e! };
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  return { kty: 'OKP', crv: jwk.crv!, x: jwk.x! };
}

function checkRsaSize(key: CryptoKey, alg: JwsAlgorithm): void {
  if (ALGORITHMS[alg].kty !== 'RSA') return;
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  if (bits < MIN_RSA_BITS) throw new TypeError(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
}

const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

export const webCrypto: CryptoProvider = {
  name: 'webcrypto',
  async sha256(data) {
    return new Uint8Array(await subtle().digest('SHA-256', data as BufferSource));
  },
  async hmacSha256(key, data) {
    let k = hmacKeys.get(key);
    if (k === undefined) {
      k = subtle().importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      hmacKeys.set(key, k);
    }
    return new Uint8Array(await subtle().sign('HMAC', await k, data as BufferSource));
  },
  async importPublicKey(jwk, alg) {
    const key = (await importJWK({ ...jwk }, alg)) as CryptoKey;
    if (key.type !== 'public') throw new TypeError('not a public key');
    checkRsaSize(key, alg);
    return key;
  },
  async verify(alg, key, data, signature) {
    const expected = ALGORITHMS[alg].signatureLength;
    if (expected !== undefined && signature.length !== expected) return false;
    try {
      return await subtle().verify(
        signParams(alg),
        asCryptoKey(key),
        signature as BufferSource,
        data as BufferSource,
      );
    } catch {
      return false;
    }
  },
  async generateKeyPair(alg, options) {
    const extractable = options?.extractable ?? false;
    const pair = await joseGenerateKeyPair(alg, { extractable, modulusLength: 2048 });
    return { privateKey: pair.privateKey, publicJwk: publicJwkOf(await exportJWK(pair.publicKey)) };
  },
  async importPrivateKey(jwk, alg, options) {
    const privateKey = (await importJWK({ ...jwk, ext: options?.extractable ?? true }, alg)) as CryptoKey;
    checkRsaSize(privateKey, alg);
    return { privateKey, publicJwk: publicJwkOf(jwk as JsonWebKey) };
  },
  async exportPrivateKey(key) {
    const k = asCryptoKey(key);
    if (!k.extractable) throw new TypeError('this key was created non-extractable');
    return (await exportJWK(k)) as PrivateJwk;
  },
  async sign(alg, key, data) {
    return new Uint8Array(await subtle().sign(signParams(alg), asCryptoKey(key), data as BufferSource));
  },
};

export default webCrypto;
