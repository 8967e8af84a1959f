// private_key_jwt (RFC 7523 §2.2, RFC 7521 §4.2): a JWT signed with a key from the client's
// registered JWKS. iss and sub are the client_id, aud names this server (its issuer, or the URL of
// the endpoint called, or the token endpoint), exp is required and near, jti is required and used
// once (recorded in the replay store shared by every instance, after the DPoP check).
import { LruCache } from '@keybound/core';
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { invalidClient, OAuthError } from '../http/oauth-error.js';
import type { ClientConfig } from './client.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
];
/** An assertion may not claim to live longer than this from now (its jti is remembered that long). */
export const MAX_ASSERTION_LIFETIME = 600;
const MAX_JTI = 256;

/**
 * The keys client assertions are verified with. A jwks_uri key set is kept per client_id and URL
 * (bounded), not per ClientConfig object: registered clients are read from storage into a new
 * object on every request, and a set made per request would fetch the URL every time (anyone can
 * send an assertion). Kept, jose's cache (10 min) and refetch cooldown (30 s) apply.
 */
export class ClientKeySets {
  readonly #local = new WeakMap<ClientConfig, JWTVerifyGetKey>();
  readonly #remote = new LruCache<string, JWTVerifyGetKey>(1000);

  for(client: ClientConfig): JWTVerifyGetKey {
    if (client.jwks) {
      let set = this.#local.get(client);
      if (set === undefined) {
        set = createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0]);
        this.#local.set(client, set);
      }
      return set;
    }
    if (client.jwksUri) {
      const key = `${client.clientId}\n${client.jwksUri}`;
      let set = this.#remote.get(key);
      if (set === undefined) {
        set = createRemoteJWKSet(new URL(client.jwksUri), {
          timeoutDuration: 3000,
          cooldownDuration: 30_000,
        });
        this.#remote.set(key, set);
      }
      return set;
    }
    throw invalidClient('client_keys_missing');
  }
}

/** The unverified `sub` (else `iss`) of an assertion: which client it claims to be. */
export function assertionClientId(assertion: string): string | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const id = claims.sub ?? claims.iss;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyClientAssertion(
  assertion: string,
  client: ClientConfig,
  keys: JWTVerifyGetKey,
  options: { audiences: string[]; now: number; clockSkew: number },
): Promise<{ jti: string; exp: number }> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(assertion, keys, {
      issuer: client.clientId,
      subject: client.clientId,
      audience: options.audiences,
      algorithms: ASSERTION_ALGS,
      clockTolerance: options.clockSkew,
      currentDate: new Date(options.now * 1000),
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (e) {
    if (e instanceof OAuthError) throw e;
    if (e instanceof errors.JWTExpired) throw invalidClient('client_assertion_expired');
    if (e instanceof errors.JWTClaimValidationFailed)
      throw invalidClient(`client_assertion_claim_invalid:${e.claim}`);
    if (e instanceof errors.JWKSNoMatchingKey) throw invalidClient('client_assertion_key_unknown');
    if (e instanceof errors.JWSSignatureVerificationFailed)
      throw invalidClient('client_assertion_signature_invalid');
    if (e instanceof errors.JOSEAlgNotAllowed) throw invalidClient('client_assertion_alg_not_allowed');
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JOSEError === false) {
      throw invalidClient('client_jwks_unavailable');
    }
    throw invalidClient(`client_assertion_invalid:${(e as errors.JOSEError).code}`);
  }
  const { jti, exp } = payload as { jti: unknown; exp: number };
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI)
    throw invalidClient('client_assertion_jti_invalid');
  // at most MAX_ASSERTION_LIFETIME s ahead (its jti is remembered that long)
  if (exp > options.now + MAX_ASSERTION_LIFETIME + options.clockSkew)
    throw invalidClient('client_assertion_lifetime_too_long');
  return { jti, exp };
}
