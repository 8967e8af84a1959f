// Imported public keys, cached by algorithm and RFC 7638 canonical JWK (bounded). Importing an
// EC JWK costs as much as verifying a signature, so a returning client should pay it once.
import { KeyboundError } from './errors.js';
import { assertJwkFitsAlgorithm, canonicalJwk, parsePublicJwk } from './jwk.js';
import type { CryptoProvider, JwsAlgorithm, KeyHandle, PublicJwk } from './lib/crypto.js';
import { LruCache } from './lib/lru.js';
import { thumbprintOfCanonical } from './thumbprint.js';

export interface ResolvedKey {
  readonly handle: KeyHandle;
  readonly jwk: PublicJwk;
  readonly jkt: string;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The canonical form built straight from the header's members when they are all strings. */
function quickCanonical(jwk: Record<string, unknown>): string | undefined {
  const { kty, crv, x, y, n, e } = jwk;
  if (kty === 'EC' && typeof crv === 'string' && typeof x === 'string' && typeof y === 'string') {
    return `{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}`;
  }
  if (kty === 'OKP' && typeof crv === 'string' && typeof x === 'string')
    return `{"crv":"${crv}","kty":"OKP","x":"${x}"}`;
  if (kty === 'RSA' && typeof e === 'string' && typeof n === 'string')
    return `{"e":"${e}","kty":"RSA","n":"${n}"}`;
  return undefined;
}

/** A JOSE header that passed every header check, with its resolved key. */
export interface ValidatedHeader {
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: JwsAlgorithm;
  readonly key: ResolvedKey;
}

export class KeyCache {
  readonly #cache: LruCache<string, ResolvedKey>;
  readonly #headers: LruCache<string, ValidatedHeader>;

  constructor(maxEntries = 10_000) {
    this.#cache = new LruCache(maxEntries);
    this.#headers = new LruCache(maxEntries);
  }

  /**
   * A returning client sends the same encoded JOSE header every time: once it has passed the
   * header checks, its exact base64url text maps to the parsed header and the imported key.
   */
  validatedHeader(encodedHeader: string, crypto: CryptoProvider): ValidatedHeader | undefined {
    return this.#headers.get(`${crypto.name}|${encodedHeader}`);
  }

  rememberHeader(encodedHeader: string, crypto: CryptoProvider, entry: ValidatedHeader): void {
    this.#headers.set(`${crypto.name}|${encodedHeader}`, entry);
  }

  /**
   * Validates a JWK from a JOSE header for `alg` and returns its imported handle and thumbprint.
   * Throws jwk_invalid, jwk_private or jwk_alg_mismatch (KeyboundError).
   */
  async resolve(value: unknown, alg: JwsAlgorithm, crypto: CryptoProvider): Promise<ResolvedKey> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const raw = value as Record<string, unknown>;
      // A cached entry was fully validated when it was stored, and its canonical text pins every
      // key-defining member, so a hit needs only the checks that the canonical form cannot see.
      const quick = quickCanonical(raw);
      if (
        quick !== undefined &&
        (raw.use === undefined || raw.use === 'sig') &&
        !PRIVATE_MEMBERS.some((m) => m in raw)
      ) {
        const hit = this.#cache.get(`${crypto.name}|${alg}|${quick}`);
        if (hit !== undefined) return hit;
      }
    }
    const jwk = parsePublicJwk(value);
    assertJwkFitsAlgorithm(jwk, alg);
    const canonical = canonicalJwk(jwk);
    let handle: KeyHandle;
    try {
      handle = await crypto.importPublicKey(jwk, alg);
    } catch (cause) {
      throw new KeyboundError('jwk_invalid', 'the jwk cannot be imported as a public key', {}, { cause });
    }
    const resolved: ResolvedKey = { handle, jwk, jkt: await thumbprintOfCanonical(canonical, crypto) };
    this.#cache.set(`${crypto.name}|${alg}|${canonical}`, resolved);
    return resolved;
  }

  clear(): void {
    this.#cache.clear();
    this.#headers.clear();
  }
}

export const defaultKeyCache = new KeyCache();
