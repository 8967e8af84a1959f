// Hashing of stored secrets and generation of random values. Codes, refresh tokens, opaque
// access tokens, request_uri values, interaction ids and initial access tokens are random
// 256-bit values, so a fast hash (SHA-256) is the right storage form: nobody can brute-force
// the preimage, and a stolen database holds nothing usable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** A random value of `bytes` bytes (default 32), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Compares two strings in time independent of where they differ (lengths may leak). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
