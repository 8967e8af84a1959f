/// <reference types="node" />
// DPoP (and private_key_jwt) keys on Node: from a KeyObject, a private JWK, or a file holding a PEM
// private key (PKCS#8, SEC1, PKCS#1) or a JWK; and a new key written to a file only its owner reads.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import {
  type DpopKey,
  dpopKeyFromHandle,
  importDpopKey,
  type JwsAlgorithm,
  KeyboundError,
  type PrivateJwk,
  type PublicJwk,
} from '@keybound/core';

function publicJwkOf(key: KeyObject): PublicJwk {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (jwk.kty === 'RSA') return { kty: 'RSA', n: jwk.n!, e: jwk.e! };
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  return { kty: 'OKP', crv: jwk.crv!, x: jwk.x! };
}

function usualAlgorithm(key: KeyObject): JwsAlgorithm {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'rsa':
    case 'rsa-pss':
      return 'PS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
    }
    default:
      throw new KeyboundError('jwk_invalid', 'this key type cannot sign DPoP proofs', {
        expected: 'EC P-256/384/521, Ed25519 or RSA',
        received: String(key.asymmetricKeyType),
      });
  }
}

/** A DPoP key from a private KeyObject (alg: the usual one for the key type unless given). */
export async function keyFromKeyObject(keyObject: KeyObject, alg?: JwsAlgorithm): Promise<DpopKey> {
  if (keyObject?.type !== 'private') {
    throw new KeyboundError('jwk_invalid', 'a private KeyObject is required', {
      expected: 'private',
      received: String(keyObject?.type),
    });
  }
  return dpopKeyFromHandle(keyObject, publicJwkOf(keyObject), alg ?? usualAlgorithm(keyObject));
}

/** A DPoP key from a private JWK (with "d"). */
export async function keyFromJwk(jwk: PrivateJwk, alg?: JwsAlgorithm): Promise<DpopKey> {
  return importDpopKey(jwk, alg);
}

export interface KeyFileOptions {
  alg?: JwsAlgorithm;
  /** For an encrypted PKCS#8 PEM. */
  passphrase?: string;
}

/** Reads a private key file: PEM (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1) or a JSON private JWK. */
export async function keyFromFile(path: string, options: KeyFileOptions = {}): Promise<DpopKey> {
  const text = (await readFile(path, 'utf8')).trim();
  if (text.startsWith('{')) {
    let json: PrivateJwk | { privateJwk?: PrivateJwk };
    try {
      json = JSON.parse(text) as PrivateJwk | { privateJwk?: PrivateJwk };
    } catch {
      throw new KeyboundError('jwk_invalid', `${path} is neither PEM nor a JSON JWK`);
    }
    // a bare private JWK, or what `keybound keys generate` prints ({ privateJwk, publicJwk, jkt })
    const wrapped = (json as { privateJwk?: unknown }).privateJwk;
    const jwk =
      typeof wrapped === 'object' && wrapped !== null ? (wrapped as PrivateJwk) : (json as PrivateJwk);
    return keyFromJwk(jwk, options.alg);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({
      key: text,
      format: 'pem',
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
    });
  } catch (cause) {
    throw new KeyboundError('jwk_invalid', `${path} does not hold a readable private key`, {}, { cause });
  }
  return keyFromKeyObject(keyObject, options.alg);
}

/**
 * Generates a key and writes it as a PKCS#8 PEM readable only by its owner (mode 0600). Refuses to
 * overwrite an existing file.
 */
export async function generateKeyFile(
  path: string,
  alg: 'ES256' | 'ES384' | 'EdDSA' = 'ES256',
): Promise<DpopKey> {
  const { privateKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: alg === 'ES384' ? 'secp384r1' : 'prime256v1' });
  await writeFile(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return keyFromKeyObject(privateKey, alg);
}
