// Hashing of stored secrets and generation of random values. Codes, refresh tokens, opaque
// access tokens, request_uri values, interaction ids and initial access tokens are random
// 256-bit values, so a fast hash (SHA-256) is the right storage form: nobody can brute-force
// the preimage, and a stolen database holds nothing usable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

// randomBytes costs several µs per call here (a lock in OpenSSL's generator), more under load;
// like randomUUID, take small values from a pool filled 4 KiB at a time. Used bytes are zeroed.
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

/** A random value of `bytes` bytes (default 32), base64url. */
export function randomToken(bytes = 32): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (offset + bytes > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + bytes);
  offset += bytes;
  const text = slice.toString('base64url');
  slice.fill(0);
  return text;
}

/** Compares two strings in time independent of where they differ (lengths may leak). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
