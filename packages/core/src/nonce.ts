// Stateless server nonces (RFC 9449 §8, §9): HMAC-SHA-256 over a time step, so that every
// instance sharing the secrets issues and accepts the same nonces without shared state.
// Rotation: the first secret signs, every secret verifies.
//
// Format: "<step in base 36>.<first 16 bytes of the MAC, base64url>", NQCHAR only.
import { b64uEncode, utf8 } from './lib/base64url.js';
import type { CryptoProvider } from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export interface NonceVerifier {
  /** A nonce to send in DPoP-Nonce now. */
  issue(now?: number): Promise<string>;
  /** valid: issued here within the window; stale: issued here, expired; invalid: not ours. */
  check(nonce: string, now?: number): Promise<NonceCheck>;
}

export interface NonceOptions {
  /** Secrets of at least 32 bytes (strings are UTF-8 encoded). The first signs; all verify. */
  secrets: ReadonlyArray<string | Uint8Array>;
  /** Length of a step in seconds (default 60). */
  stepSeconds?: number;
  /** How many steps back a nonce is still accepted (default 2: a nonce lives 2-3 steps). */
  acceptPastSteps?: number;
  /** Distinguishes nonces of different servers sharing a secret (e.g. "as" and "rs"). */
  context?: string;
  crypto?: CryptoProvider;
}

const MAC_BYTES = 16;
export const MIN_NONCE_SECRET_BYTES = 32;
const NONCE_SHAPE = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/;

export class NonceManager implements NonceVerifier {
  readonly #secrets: Uint8Array[];
  readonly #step: number;
  readonly #past: number;
  readonly #context: string;
  readonly #crypto: CryptoProvider;
  /** step → nonce, per secret index, for the steps currently in the window. */
  readonly #cache = new Map<string, string>();

  constructor(options: NonceOptions) {
    if (!options || !Array.isArray(options.secrets) || options.secrets.length === 0) {
      throw new TypeError('NonceManager needs at least one secret');
    }
    this.#secrets = options.secrets.map((s, i) => {
      const bytes = typeof s === 'string' ? utf8(s) : s;
      if (!(bytes instanceof Uint8Array) || bytes.length < MIN_NONCE_SECRET_BYTES) {
        throw new TypeError(`nonce secret #${i} must be at least ${MIN_NONCE_SECRET_BYTES} bytes`);
      }
      return bytes;
    });
    this.#step = options.stepSeconds ?? 60;
    this.#past = options.acceptPastSteps ?? 2;
    // an infinite step would make one nonce valid forever; NaN would make every nonce stale
    if (typeof this.#step !== 'number' || !Number.isFinite(this.#step) || this.#step < 1) {
      throw new TypeError(
        `NonceManager: stepSeconds must be a finite number >= 1, not ${String(this.#step)}`,
      );
    }
    if (!Number.isInteger(this.#past) || this.#past < 0) {
      throw new TypeError(`NonceManager: acceptPastSteps must be an integer >= 0, not ${String(this.#past)}`);
    }
    this.#context = options.context ?? '';
    this.#crypto = options.crypto ?? getDefaultCrypto();
  }

  #stepAt(now: number | undefined): number {
    if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) {
      throw new TypeError(`NonceManager: now must be a finite number of epoch seconds, not ${String(now)}`);
    }
    return Math.floor((now ?? Date.now() / 1000) / this.#step);
  }

  async #nonceFor(step: number, secretIndex: number): Promise<string> {
    const key = `${secretIndex}:${step}`;
    let nonce = this.#cache.get(key);
    if (nonce === undefined) {
      const stepText = step.toString(36);
      const mac = await this.#crypto.hmacSha256(
        this.#secrets[secretIndex]!,
        utf8(`keybound-dpop-nonce\0${this.#context}\0${stepText}`),
      );
      nonce = `${stepText}.${b64uEncode(mac.subarray(0, MAC_BYTES))}`;
      if (this.#cache.size > 64 * this.#secrets.length) this.#cache.clear();
      this.#cache.set(key, nonce);
    }
    return nonce;
  }

  async issue(now?: number): Promise<string> {
    return this.#nonceFor(this.#stepAt(now), 0);
  }

  async check(nonce: string, now?: number): Promise<NonceCheck> {
    const current = this.#stepAt(now);
    if (typeof nonce !== 'string') return 'invalid';
    const m = NONCE_SHAPE.exec(nonce);
    if (!m) return 'invalid';
    const step = Number.parseInt(m[1]!, 36);
    if (!Number.isSafeInteger(step)) return 'invalid';
    let ours = false;
    for (let i = 0; i < this.#secrets.length && !ours; i++) ours = (await this.#nonceFor(step, i)) === nonce;
    if (!ours) return 'invalid';
    // one step ahead is tolerated: another instance's clock may be slightly ahead of ours
    return step <= current + 1 && step >= current - this.#past ? 'valid' : 'stale';
  }
}
