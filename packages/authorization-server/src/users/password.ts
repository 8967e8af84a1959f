// Password hashes for the built-in user list: scrypt (node:crypto), stored as
// "scrypt$<N>$<r>$<p>$<salt>$<hash>" (base64url). Verification of an unknown user spends the same
// work against a fixed dummy hash, so timing does not tell which usernames exist.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const FORMAT = /^scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_BYTES, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export function isPasswordHash(value: string): boolean {
  const m = FORMAT.exec(value);
  if (!m) return false;
  const n = Number(m[1]);
  return n >= 1024 && n <= 1_048_576 && (n & (n - 1)) === 0 && Number(m[2]) >= 1 && Number(m[3]) >= 1;
}

let dummy: string | undefined;

/** Resolves true when `password` matches `stored`; with no stored hash it still spends the work. */
export function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  dummy ??= hashPassword('keybound-dummy-password');
  const m = FORMAT.exec(stored ?? dummy) ?? FORMAT.exec(dummy)!;
  const [, n, r, p, salt, hash] = m;
  const expected = Buffer.from(hash!, 'base64url');
  return new Promise((resolve) => {
    scrypt(
      password.normalize('NFC'),
      Buffer.from(salt!, 'base64url'),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) + 1024 * 1024 },
      (err, derived) => {
        resolve(!err && stored !== undefined && timingSafeEqual(derived, expected));
      },
    );
  });
}
