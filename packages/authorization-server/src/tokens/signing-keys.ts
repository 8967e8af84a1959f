// The authorization server's signing keys and its JWKS. Either static (from the configuration:
// one current key, previous ones with the time they stopped signing) or managed in storage
// (generated on first start, shared by every instance, rotated with rotate()). A key that
// stopped signing stays published until the last token it signed has expired.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type JwsAlgorithm, jwkThumbprint, type PublicJwk } from '@keybound/core';
import type { SigningKeyConfig } from '../config/server-config.js';
import { OAuthError } from '../http/oauth-error.js';
import { type KeySealer, SealingError } from '../storage/key-sealing.js';
import type { Storage } from '../storage/storage.js';
import type { JwtSigningKey } from './sign-jwt.js';

export interface SigningKey extends JwtSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The JWK as published: kty/crv/x/y (or n/e), kid, alg, use. */
  publicJwk: Record<string, unknown>;
  createdAt: number;
  retiredAt?: number | undefined;
}

const CURVES: Partial<Record<JwsAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

function generate(alg: JwsAlgorithm): KeyObject {
  const curve = CURVES[alg];
  if (curve) return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
  if (alg === 'EdDSA' || alg === 'Ed25519') return generateKeyPairSync('ed25519').privateKey;
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

async function toSigningKey(
  privateKey: KeyObject,
  alg: JwsAlgorithm,
  createdAt: number,
  retiredAt: number | undefined,
  kid?: string,
): Promise<SigningKey> {
  const publicKey = createPublicKey(privateKey);
  const { kty, crv, x, y, n, e } = publicKey.export({ format: 'jwk' });
  const members = (
    kty === 'RSA' ? { kty, n, e } : kty === 'EC' ? { kty, crv, x, y } : { kty, crv, x }
  ) as PublicJwk;
  const id = kid ?? (await jwkThumbprint(members));
  return {
    kid: id,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...members, kid: id, alg, use: 'sig' },
    createdAt,
    retiredAt,
  };
}

export interface SigningKeysOptions {
  storage: Storage;
  /** Configured keys; empty: managed in storage. */
  configured: SigningKeyConfig[];
  alg: JwsAlgorithm;
  /** The longest lifetime of a signed token: how long a retired key stays published. */
  maxTokenTtl: number;
  /** How often managed keys are reloaded from storage (seconds). */
  reloadSeconds?: number;
  /** Seals managed private keys before they are stored (storage.encryption_secrets). */
  sealer: KeySealer;
  /** Where reload failures are reported (the server's onError). */
  onError?: ((error: unknown) => void) | undefined;
}

export class SigningKeys {
  readonly #options: SigningKeysOptions;
  #keys: SigningKey[] = [];
  #current: SigningKey | undefined;
  #loadedAt = 0;
  #reloading: Promise<void> | undefined;
  /**
   * Set when a reload found a stored key this instance cannot open (SealingError): storage holds
   * keys sealed under a secret this instance lacks, so the keys it has loaded may have been
   * retired or deleted by another instance. Nothing is signed until a later load succeeds.
   */
  #unusable: SealingError | undefined;
  /** The last reload failed (for any reason). */
  #reloadFailed = false;

  constructor(options: SigningKeysOptions) {
    this.#options = options;
  }

  get managed(): boolean {
    return this.#options.configured.length === 0;
  }

  /** Loads the keys (and, when managed and there is none, creates the first). */
  async load(now: number): Promise<void> {
    if (!this.managed) {
      const keys: SigningKey[] = [];
      for (const k of this.#options.configured) {
        const text = k.privateKey.trim();
        const pk = text.startsWith('{')
          ? createPrivateKey({ key: JSON.parse(text), format: 'jwk' })
          : createPrivateKey(text);
        keys.push(await toSigningKey(pk, k.alg, 0, k.retiredAt, k.kid));
      }
      this.#set(keys);
      this.#loadedAt = now;
      return;
    }
    const { storage, sealer } = this.#options;
    let records = await storage.listSigningKeys();
    if (!records.some((r) => r.retiredAt === undefined)) {
      await this.#insertNew(now, true);
      records = await storage.listSigningKeys();
    }
    const keys: SigningKey[] = [];
    for (const r of records) {
      // a key that does not open stops the load (and the start): never sign with a guess
      const privateJwk = sealer.open(r.privateJwk, r.kid);
      const pk = createPrivateKey({ key: JSON.parse(privateJwk), format: 'jwk' });
      keys.push(await toSigningKey(pk, r.alg as JwsAlgorithm, r.createdAt, r.retiredAt, r.kid));
      if (sealer.needsResealing(r.privateJwk)) {
        await storage.updateSigningKeyMaterial(r.kid, sealer.seal(privateJwk, r.kid));
        // only with storage.seal_plain_keys: say so, the operator should turn it off again
        if (sealer.isPlain(r.privateJwk)) {
          this.#options.onError?.(
            new Error(
              `signing key ${r.kid} was stored unsealed and has been sealed in place (storage.seal_plain_keys)`,
            ),
          );
        }
      }
    }
    this.#set(keys);
    this.#loadedAt = now;
    this.#unusable = undefined;
  }

  /**
   * A reload that never throws: every failure is reported; a key that does not open stops signing
   * (see #unusable); any other failure (storage unreachable) keeps the loaded keys, still valid.
   */
  async #reload(now: number): Promise<void> {
    try {
      await this.load(now);
      this.#reloadFailed = false;
    } catch (e) {
      this.#reloadFailed = true;
      if (e instanceof SealingError) this.#unusable = e;
      this.#options.onError?.(e);
    }
  }

  #unavailable(): OAuthError {
    return new OAuthError(
      'temporarily_unavailable',
      'the signing keys could not be loaded from storage; try again later',
      {
        status: 503,
        headers: { 'Retry-After': String(this.#options.reloadSeconds ?? 30) },
        code: 'signing_keys_unusable',
      },
    );
  }

  /**
   * Generates a key and stores it (sealed when sealing is configured). `first`: only if no current
   * key exists, atomically among instances (another instance starting at the same moment may win).
   */
  async #insertNew(now: number, first = false): Promise<SigningKey> {
    const { alg, storage, sealer } = this.#options;
    const created = await toSigningKey(generate(alg), alg, now, undefined);
    const privateJwk = JSON.stringify(created.privateKey.export({ format: 'jwk' }));
    const record = {
      kid: created.kid,
      alg: created.alg,
      privateJwk: sealer.seal(privateJwk, created.kid),
      createdAt: now,
    };
    if (first) await storage.insertFirstSigningKey(record);
    else await storage.insertSigningKey(record);
    return created;
  }

  #set(keys: SigningKey[]): void {
    // the current key: the newest that is not retired (the same choice on every instance)
    const live = keys
      .filter((k) => k.retiredAt === undefined)
      .sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1));
    if (live.length === 0) throw new Error('no current signing key');
    this.#keys = keys;
    this.#current = live[0];
  }

  /** Reloads managed keys from storage when the last load is older than the reload interval. */
  maybeReload(now: number): void {
    if (!this.managed || this.#reloading) return;
    if (now - this.#loadedAt < (this.#options.reloadSeconds ?? 30)) return;
    this.#loadedAt = now;
    this.#reloading = this.#reload(now)
      .then(() => {})
      .finally(() => {
        this.#reloading = undefined;
      });
  }

  /**
   * The key that signs now. Throws 503 temporarily_unavailable while the stored keys cannot be
   * opened (another instance may have retired the one loaded here).
   */
  current(): SigningKey {
    if (this.#unusable) throw this.#unavailable();
    if (!this.#current) throw new Error('signing keys are not loaded');
    return this.#current;
  }

  /** Keys whose tokens may still be live: every unretired key, and retired ones until their tokens expire. */
  published(now: number): SigningKey[] {
    return this.#keys.filter(
      (k) => k.retiredAt === undefined || k.retiredAt + this.#options.maxTokenTtl > now,
    );
  }

  find(kid: string, now: number): SigningKey | undefined {
    return this.published(now).find((k) => k.kid === kid);
  }

  #lastForcedReload = Number.NEGATIVE_INFINITY;

  /**
   * Like find, but an unknown kid of managed keys reloads them first (at most every 5 seconds):
   * another instance may have just created or rotated in a key this one has not loaded yet.
   */
  async findOrReload(kid: string, now: number): Promise<SigningKey | undefined> {
    const found = this.find(kid, now);
    if (found !== undefined || !this.managed || now - this.#lastForcedReload < 5) return found;
    this.#lastForcedReload = now;
    if (this.#reloading) await this.#reloading;
    else await this.#reload(now);
    const after = this.find(kid, now);
    // the kid may belong to a key this instance could not load: it cannot say the token is invalid
    if (after === undefined && (this.#unusable || this.#reloadFailed)) throw this.#unavailable();
    return after;
  }

  /** The published keys; 503 while the stored keys cannot be opened (this set may be stale). */
  jwks(now: number): { keys: Record<string, unknown>[] } {
    if (this.#unusable) throw this.#unavailable();
    return { keys: this.published(now).map((k) => k.publicJwk) };
  }

  /**
   * Managed keys: creates a new current key, retires the others (they stay published until their
   * tokens expire) and deletes keys whose tokens have all expired. Other instances pick the new
   * key up within the reload interval.
   */
  async rotate(now: number): Promise<SigningKey> {
    if (!this.managed) throw new Error('signing keys come from the configuration: rotate them there');
    const created = await this.#insertNew(now);
    const storage = this.#options.storage;
    await storage.retireSigningKeys(created.kid, now);
    for (const k of await storage.listSigningKeys()) {
      if (k.retiredAt !== undefined && k.retiredAt + this.#options.maxTokenTtl <= now)
        await storage.deleteSigningKey(k.kid);
    }
    await this.load(now);
    return this.current();
  }
}
