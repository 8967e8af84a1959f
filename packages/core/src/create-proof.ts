// Creates a DPoP proof JWT (RFC 9449 §4.2).
import { accessTokenHash } from './ath.js';
import { KeyboundError } from './errors.js';
import { htuClaimFor } from './htu.js';
import type { DpopKey } from './keys.js';
import { b64uEncode, utf8 } from './lib/base64url.js';
import type { CryptoProvider } from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';

export interface CreateProofOptions {
  htm: string;
  /**
   * The request URL; query and fragment are removed (RFC 9449 §4.2) and characters RFC 3986 does
   * not allow in a path (`\`, space, `|`, non-ASCII, …) percent-encoded, as a server encodes them.
   */
  htu: string;
  /** When the proof accompanies an access token, its ath is added. */
  accessToken?: string;
  /** The server-provided DPoP-Nonce, when there is one. */
  nonce?: string;
  /** Creation time in epoch seconds (default: now). */
  iat?: number;
  /** Unique identifier (default: 128 random bits, base64url). */
  jti?: string;
  /** Further claims, e.g. for extensions; cannot override the registered ones. */
  claims?: Record<string, unknown>;
  crypto?: CryptoProvider;
}

const headerCache = new WeakMap<DpopKey, string>();

function encodedHeader(key: DpopKey): string {
  let h = headerCache.get(key);
  if (h === undefined) {
    h = b64uEncode(JSON.stringify({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk }));
    headerCache.set(key, h);
  }
  return h;
}

export function randomJti(): string {
  return b64uEncode(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

export async function createProof(key: DpopKey, options: CreateProofOptions): Promise<string> {
  const crypto = options.crypto ?? getDefaultCrypto();
  if (typeof options.htm !== 'string' || options.htm.length === 0) {
    throw new KeyboundError('htm_mismatch', 'htm is required to create a proof');
  }
  if (typeof options.htu !== 'string' || !/^https?:\/\//i.test(options.htu)) {
    throw new KeyboundError('htu_mismatch', 'htu must be an absolute http(s) URL to create a proof');
  }
  const payload: Record<string, unknown> = {
    ...options.claims,
    jti: options.jti ?? randomJti(),
    htm: options.htm,
    htu: htuClaimFor(options.htu),
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  if (options.accessToken !== undefined) payload.ath = await accessTokenHash(options.accessToken, crypto);
  if (options.nonce !== undefined) payload.nonce = options.nonce;
  const signingInput = `${encodedHeader(key)}.${b64uEncode(JSON.stringify(payload))}`;
  const signature = await crypto.sign(key.alg, key.privateKey, utf8(signingInput));
  return `${signingInput}.${b64uEncode(signature)}`;
}
