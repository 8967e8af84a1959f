/// <reference types="node" />
// The Node fast path of the crypto seam: node:crypto KeyObjects, synchronous hashing.
import { Buffer } from 'node:buffer';
import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  ALGORITHMS,
  type CryptoProvider,
  type GeneratedKeyPair,
  type JwsAlgorithm,
  type KeyHandle,
  MIN_RSA_BITS,
  type PrivateJwk,
  type PublicJwk,
} from './crypto.js';

const NON_EXTRACTABLE = new WeakSet<KeyObject>();

function asKeyObject(key: KeyHandle): KeyObject {
  if (!(key instanceof KeyObject)) throw new TypeError('the node crypto provider needs a KeyObject');
  return key;
}

function hashName(alg: JwsAlgorithm): string | null {
  const h = ALGORITHMS[alg].hash;
  return h === undefined ? null : `sha${h}`;
}

function keyInput(alg: JwsAlgorithm, key: KeyObject) {
  switch (ALGORITHMS[alg].family) {
    case 'ecdsa':
      return { key, dsaEncoding: 'ieee-p1363' as const };
    case 'rsa-pss':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    default:
      return key;
  }
}

function publicJwkOf(key: KeyObject): PublicJwk {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  const { kty, crv, x, y, n, e } = jwk;
  if (kty === 'RSA') return { kty, n: n as string, e: e as string };
  if (kty === 'EC') return { kty, crv: crv as string, x: x as string, y: y as string };
  return { kty: 'OKP', crv: crv as string, x: x as string };
}

const CURVE_NAMES: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

function checkKeyFits(alg: JwsAlgorithm, key: KeyObject): void {
  const info = ALGORITHMS[alg];
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const ok =
    info.kty === 'RSA'
      ? (type === 'rsa' || (type === 'rsa-pss' && info.family === 'rsa-pss')) &&
        (details.modulusLength ?? 0) >= MIN_RSA_BITS
      : info.kty === 'EC'
        ? type === 'ec' && details.namedCurve === CURVE_NAMES[info.crv!]
        : type === 'ed25519';
  if (!ok) throw new TypeError(`key does not fit ${alg}`);
}

function verifyBytes(alg: JwsAlgorithm, key: KeyHandle, data: Uint8Array, signature: Uint8Array): boolean {
  const expected = ALGORITHMS[alg].signatureLength;
  if (expected !== undefined && signature.length !== expected) return false;
  try {
    return verify(hashName(alg), data, keyInput(alg, asKeyObject(key)), signature);
  } catch {
    return false;
  }
}

export const nodeCrypto: CryptoProvider = {
  name: 'node',
  async sha256(data) {
    return createHash('sha256').update(data).digest();
  },
  async hmacSha256(key, data) {
    return createHmac('sha256', key).update(data).digest();
  },
  async importPublicKey(jwk, alg) {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    checkKeyFits(alg, key);
    return key;
  },
  async verify(alg, key, data, signature) {
    return verifyBytes(alg, key, data, signature);
  },
  verifySync(alg, key, signingInput, signature) {
    return verifyBytes(alg, key, Buffer.from(signingInput, 'latin1'), signature);
  },
  sha256Sync(text) {
    return createHash('sha256').update(text).digest();
  },
  async generateKeyPair(alg, options) {
    const info = ALGORITHMS[alg];
    const pair =
      info.kty === 'EC'
        ? generateKeyPairSync('ec', { namedCurve: CURVE_NAMES[info.crv!]! })
        : info.kty === 'OKP'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
    if (options?.extractable === false) NON_EXTRACTABLE.add(pair.privateKey);
    return { privateKey: pair.privateKey, publicJwk: publicJwkOf(pair.publicKey) };
  },
  async importPrivateKey(jwk, alg, options): Promise<GeneratedKeyPair> {
    const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    checkKeyFits(alg, key);
    if (options?.extractable === false) NON_EXTRACTABLE.add(key);
    return { privateKey: key, publicJwk: publicJwkOf(key) };
  },
  async exportPrivateKey(key) {
    const k = asKeyObject(key);
    if (k.type !== 'private') throw new TypeError('not a private key');
    if (NON_EXTRACTABLE.has(k)) throw new TypeError('this key was created non-extractable');
    return k.export({ format: 'jwk' }) as PrivateJwk;
  },
  async sign(alg, key, data) {
    return sign(hashName(alg), data, keyInput(alg, asKeyObject(key)));
  },
};

export default nodeCrypto;
