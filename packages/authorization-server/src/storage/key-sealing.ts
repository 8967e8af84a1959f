// Managed signing keys are private keys kept in the database: whoever reads a backup or a dump
// could sign access tokens bound to keys of their own choosing. With storage.encryption_secrets
// configured they are sealed before they reach storage: AES-256-GCM under a key derived (HKDF-SHA256)
// from a secret the database never sees, with the key's kid as associated data (a sealed key moved
// to another row does not open). Rotation works as for nonce secrets: the first secret seals, every
// secret opens, and keys sealed under an older secret are sealed again on load. A key found unsealed
// while sealing is on is refused (whoever can write the table could plant one) unless
// storage.seal_plain_keys says to seal it in place (a one-time migration).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** Stored form: kbseal1.<secret id>.<iv>.<ciphertext and tag>, each part base64url. */
const PREFIX = 'kbseal1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SealingKey {
  id: string;
  key: Buffer;
}

function derive(secret: string): SealingKey {
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'keybound signing key sealing v1', 32));
  // identifies the secret in the stored form without saying anything about it
  const id = createHash('sha256')
    .update('keybound sealing key id')
    .update(key)
    .digest('base64url')
    .slice(0, 11);
  return { id, key };
}

export class SealingError extends Error {
  override readonly name = 'SealingError';
}

export class KeySealer {
  readonly #keys: SealingKey[];
  readonly #openPlain: boolean;

  /**
   * `secrets`: the first seals, all open; empty: keys are stored as plain JWK JSON.
   * `sealPlainKeys`: with secrets, a key stored unsealed opens (to be sealed in place) instead of
   * being refused — anyone able to write the table could otherwise plant a key of their own.
   */
  constructor(secrets: readonly string[], options: { sealPlainKeys?: boolean } = {}) {
    this.#keys = secrets.map(derive);
    this.#openPlain = options.sealPlainKeys ?? false;
  }

  /** True when `stored` is a plain (unsealed) JWK. */
  isPlain(stored: string): boolean {
    return !stored.startsWith(`${PREFIX}.`) && stored.trimStart().startsWith('{');
  }

  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** True when `stored` should be written again: unsealed while sealing is on, or sealed under an older secret. */
  needsResealing(stored: string): boolean {
    const current = this.#keys[0];
    if (current === undefined) return false;
    return !stored.startsWith(`${PREFIX}.${current.id}.`);
  }

  /** The stored form of a private JWK (JSON text) for the key `kid`. */
  seal(privateJwk: string, kid: string): string {
    const current = this.#keys[0];
    if (current === undefined) return privateJwk;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const body = Buffer.concat([cipher.update(privateJwk, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [PREFIX, current.id, iv.toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The private JWK (JSON text) from its stored form; throws SealingError when it cannot be opened. */
  open(stored: string, kid: string): string {
    if (!stored.startsWith(`${PREFIX}.`)) {
      if (stored.trimStart().startsWith('{')) {
        if (this.#keys.length === 0 || this.#openPlain) return stored;
        throw new SealingError(
          `signing key ${kid} is stored unsealed while storage.encryption_secrets is set: refused ` +
            '(to seal keys stored before sealing was configured, set storage.seal_plain_keys: true once)',
        );
      }
      throw new SealingError(`signing key ${kid} is stored in a form this server does not know`);
    }
    const parts = stored.split('.');
    if (parts.length !== 4) throw new SealingError(`signing key ${kid}: the sealed form is malformed`);
    const [, id, ivText, bodyText] = parts as [string, string, string, string];
    if (this.#keys.length === 0) {
      throw new SealingError(
        `signing key ${kid} is sealed, and storage.encryption_secrets is not configured`,
      );
    }
    const sealing = this.#keys.find((k) => k.id === id);
    if (sealing === undefined) {
      throw new SealingError(
        `signing key ${kid} is sealed with a secret that is not in storage.encryption_secrets`,
      );
    }
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) {
      throw new SealingError(`signing key ${kid}: the sealed form is malformed`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', sealing.key, iv);
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SealingError(`signing key ${kid} does not open: altered, or sealed for another key id`);
    }
  }
}
