// JWT access tokens (RFC 9068 and plain JWTs) verified with jose against the issuer's JWKS.
// jose's remote key set caches the JWKS, refetches it when a token names an unknown kid (at most
// once per cool-down), and refreshes it after its maximum age. A JWKS that cannot be fetched is
// reported as jwks_unavailable (503): the request is refused, never allowed.
import { KeyboundError } from '@keybound/core';
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { cacheUntil, tokenFacts, type VerifiedToken } from './access-token.js';
import type { IssuerPolicy } from './policy.js';

const ACCEPTED_TYP = /^((application\/)?at\+jwt|jwt)$/i;

export class JwtAccessTokenVerifier {
  readonly #issuer: IssuerPolicy;
  readonly #audience: string[];
  readonly #skew: number;
  readonly #getKey: JWTVerifyGetKey;

  constructor(
    issuer: IssuerPolicy,
    audience: readonly string[],
    skewSeconds: number,
    fetchImpl?: typeof fetch,
  ) {
    this.#issuer = issuer;
    this.#audience = [...audience];
    this.#skew = skewSeconds;
    const remote = createRemoteJWKSet(new URL(issuer.jwksUri!), {
      cooldownDuration: (issuer.jwksCooldownSeconds ?? 30) * 1000,
      cacheMaxAge: (issuer.jwksMaxAgeSeconds ?? 600) * 1000,
      timeoutDuration: issuer.timeoutMs ?? 5000,
      ...(fetchImpl === undefined ? {} : { [customFetch]: fetchImpl }),
    });
    this.#getKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (e) {
        if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) {
          throw new KeyboundError(
            'token_invalid',
            'no single key in the issuer JWKS matches the access token',
            {
              received: typeof header.kid === 'string' ? `kid ${header.kid.slice(0, 100)}` : 'no kid',
            },
          );
        }
        if (e instanceof errors.JOSENotSupported) {
          throw new KeyboundError(
            'token_invalid',
            'the issuer key for this access token is not usable',
            {},
            { cause: e },
          );
        }
        throw new KeyboundError(
          'jwks_unavailable',
          `the JWKS of ${issuer.issuer} could not be fetched`,
          { received: e instanceof Error ? e.message.slice(0, 200) : 'error' },
          { cause: e },
        );
      }
    };
  }

  async verify(token: string, now: number): Promise<{ token: VerifiedToken; until: number }> {
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
    } catch {
      throw new KeyboundError('token_malformed', 'the access token header is not a JOSE header');
    }
    if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYP.test(typ))) {
      throw new KeyboundError('token_invalid', 'the access token typ is neither at+jwt nor JWT', {
        expected: 'at+jwt',
        received: String(typ).slice(0, 50),
      });
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        issuer: this.#issuer.issuer,
        audience: this.#audience,
        algorithms: this.#issuer.algorithms ?? [],
        currentDate: new Date(now * 1000),
        clockTolerance: this.#skew,
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      throw joseToKeybound(e, this.#audience, this.#issuer.algorithms ?? []);
    }
    const verified = tokenFacts(this.#issuer.issuer, payload, 'jwt');
    return { token: verified, until: cacheUntil(verified, now) };
  }
}

function joseToKeybound(
  e: unknown,
  audience: readonly string[],
  algorithms: readonly string[],
): KeyboundError {
  if (e instanceof KeyboundError) return e;
  if (e instanceof errors.JWTExpired) return new KeyboundError('token_expired', undefined, {}, { cause: e });
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'nbf':
        return new KeyboundError('token_not_yet_valid', undefined, {}, { cause: e });
      case 'aud':
        return new KeyboundError('audience_mismatch', 'the access token aud does not name this resource', {
          expected: audience.join(' '),
        });
      default:
        return new KeyboundError(
          'token_invalid',
          `the access token ${e.claim} claim is invalid: ${e.reason}`,
          {},
          { cause: e },
        );
    }
  }
  if (e instanceof errors.JOSEAlgNotAllowed) {
    return new KeyboundError(
      'token_invalid',
      'the access token is signed with an algorithm not accepted here',
      {
        expected: algorithms.join(' '),
      },
    );
  }
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) {
    return new KeyboundError(
      'token_malformed',
      'the access token is not a well-formed JWT',
      {},
      { cause: e },
    );
  }
  if (e instanceof errors.JOSEError) return new KeyboundError('token_invalid', undefined, {}, { cause: e });
  throw e;
}
