// Access-token validation: a JWT (RFC 9068 `at+jwt`, or a plain JWT) against its issuer's JWKS,
// or an opaque token through RFC 7662 introspection. Results are cached by token hash (the
// token's `ath`) until the token expires, in a bounded cache, so a returning client costs a map
// lookup; concurrent first uses of one token share one verification.
import { b64uDecodeText, KeyboundError, LruCache } from '@keybound/core';
import { IntrospectionClient } from './introspection.js';
import { JwtAccessTokenVerifier } from './jwt-access-token.js';

import type { IssuerPolicy, Policy } from './policy.js';

/** What the resource server knows about a valid access token. */
export interface VerifiedToken {
  issuer: string;
  /** The JWT claims, or the introspection response members. */
  claims: Readonly<Record<string, unknown>>;
  clientId: string | undefined;
  scopes: ReadonlySet<string>;
  /** The same scopes as a list. */
  scopeList: readonly string[];
  /** cnf.jkt: the token is DPoP-bound to this key thumbprint. */
  jkt: string | undefined;
  /** cnf["x5t#S256"]: the token is bound to this certificate thumbprint. */
  x5t: string | undefined;
  /** Epoch seconds. */
  exp: number | undefined;
  nbf: number | undefined;
  source: 'jwt' | 'introspection';
}

export interface AccessTokenOptions {
  /** fetch used for JWKS and introspection (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** The introspection client secret of an issuer, when the policy does not hold it. */
  introspectionSecret?: (issuer: string) => string | undefined;
}

interface Cached {
  token: VerifiedToken;
  /** Epoch seconds after which the entry is not used. */
  until: number;
}

const MAX_TOKEN_LENGTH = 16 * 1024;

export class AccessTokenVerifier {
  readonly #cache: LruCache<string, Cached>;
  readonly #pending = new Map<string, Promise<Cached>>();
  readonly #jwt = new Map<string, JwtAccessTokenVerifier>();
  readonly #introspection = new Map<string, IntrospectionClient>();
  /** The issuer that opaque tokens are introspected at: the first listed with introspection. */
  readonly #opaqueIssuer: IssuerPolicy | undefined;
  readonly #issuers = new Map<string, IssuerPolicy>();
  readonly #skew: number;

  constructor(policy: Policy, options: AccessTokenOptions = {}) {
    this.#cache = new LruCache(policy.tokenCacheSize ?? 10_000);
    this.#skew = policy.proof?.clockSkewSeconds ?? 5;
    const audience = policy.audience ?? [policy.resource];
    for (const iss of policy.issuers) {
      this.#issuers.set(iss.issuer, iss);
      if (iss.jwksUri !== undefined) {
        this.#jwt.set(iss.issuer, new JwtAccessTokenVerifier(iss, audience, this.#skew, options.fetch));
      }
      if (iss.introspection !== undefined) {
        const secret = iss.introspection.clientSecret ?? options.introspectionSecret?.(iss.issuer);
        if (secret === undefined) {
          throw new TypeError(`issuer ${iss.issuer}: introspection needs a clientSecret (policy or options)`);
        }
        this.#introspection.set(
          iss.issuer,
          new IntrospectionClient(iss, secret, audience, this.#skew, options.fetch ?? globalThis.fetch),
        );
      }
    }
    this.#opaqueIssuer = policy.issuers.find((i) => i.introspection !== undefined);
  }

  /**
   * Verifies `token`, whose SHA-256 (base64url, as in `ath`) is `hash`, at time `now` (epoch s).
   * Throws KeyboundError token_* / issuer_unknown / audience_mismatch / *_unavailable.
   */
  verify(token: string, hash: string, now: number): VerifiedToken | Promise<VerifiedToken> {
    const hit = this.#cache.get(hash);
    if (hit !== undefined) {
      if (now < hit.until) return checkTimes(hit.token, now, this.#skew);
      this.#cache.delete(hash);
    }
    return this.#verifyShared(token, hash, now);
  }

  async #verifyShared(token: string, hash: string, now: number): Promise<VerifiedToken> {
    let pending = this.#pending.get(hash);
    if (pending === undefined) {
      pending = this.#verifyUncached(token, now).finally(() => this.#pending.delete(hash));
      this.#pending.set(hash, pending);
    }
    const fresh = await pending;
    if (fresh.until > now) this.#cache.set(hash, fresh);
    return checkTimes(fresh.token, now, this.#skew);
  }

  async #verifyUncached(token: string, now: number): Promise<Cached> {
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new KeyboundError('token_malformed', 'the access token is too long', {
        expected: MAX_TOKEN_LENGTH,
        received: token.length,
      });
    }
    const iss = jwtIssuer(token);
    if (iss !== undefined) {
      const jwt = this.#jwt.get(iss);
      if (jwt !== undefined) return jwt.verify(token, now);
      const intro = this.#introspection.get(iss);
      if (intro !== undefined) return intro.introspect(token, now);
      throw new KeyboundError('issuer_unknown', 'the access token issuer is not configured', {
        expected: [...this.#issuers.keys()].join(' '),
        received: iss.slice(0, 200),
      });
    }
    if (this.#opaqueIssuer !== undefined) {
      return this.#introspection.get(this.#opaqueIssuer.issuer)!.introspect(token, now);
    }
    throw new KeyboundError(
      'token_malformed',
      'the access token is not a JWT and no issuer introspects opaque tokens',
    );
  }
}

/**
 * The iss of a JWT-shaped token (three base64url parts whose first two are JSON objects), or
 * undefined when the token is not JWT-shaped (treated as opaque).
 */
function jwtIssuer(token: string): string | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  const header = b64uDecodeText(token.slice(0, first));
  const payload = b64uDecodeText(token.slice(first + 1, second));
  if (header === undefined || payload === undefined) return undefined;
  let h: unknown;
  let claims: unknown;
  try {
    h = JSON.parse(header);
    claims = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(h) || !isObject(claims)) return undefined;
  const iss = (claims as Record<string, unknown>).iss;
  if (typeof iss !== 'string') throw new KeyboundError('token_invalid', 'the access token has no iss claim');
  return iss;
}

function checkTimes(token: VerifiedToken, now: number, skew: number): VerifiedToken {
  if (token.exp !== undefined && now >= token.exp + skew) {
    throw new KeyboundError(
      'token_expired',
      `the access token expired ${Math.round(now - token.exp)} s ago`,
      {
        expected: `< ${token.exp}`,
        received: Math.floor(now),
      },
    );
  }
  if (token.nbf !== undefined && now < token.nbf - skew) {
    throw new KeyboundError('token_not_yet_valid', `the access token is valid from ${token.nbf}`, {
      expected: `>= ${token.nbf}`,
      received: Math.floor(now),
    });
  }
  return token;
}

/** Reads the members every validation path shares from a claims object. */
export function tokenFacts(
  issuer: string,
  claims: Record<string, unknown>,
  source: VerifiedToken['source'],
): VerifiedToken {
  const cnf = claims.cnf;
  let jkt: string | undefined;
  let x5t: string | undefined;
  if (cnf !== undefined) {
    if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
      throw new KeyboundError('token_invalid', 'the access token cnf claim is not an object');
    }
    const c = cnf as Record<string, unknown>;
    if (c.jkt !== undefined) {
      if (typeof c.jkt !== 'string' || c.jkt.length === 0)
        throw new KeyboundError('token_invalid', 'cnf.jkt is not a string');
      jkt = c.jkt;
    }
    if (c['x5t#S256'] !== undefined) {
      if (typeof c['x5t#S256'] !== 'string' || c['x5t#S256'].length === 0) {
        throw new KeyboundError('token_invalid', 'cnf["x5t#S256"] is not a string');
      }
      x5t = c['x5t#S256'];
    }
  }
  const scopes = new Set<string>();
  if (typeof claims.scope === 'string') for (const s of claims.scope.split(' ')) if (s !== '') scopes.add(s);
  if (Array.isArray(claims.scp)) for (const s of claims.scp) if (typeof s === 'string') scopes.add(s);
  const clientId =
    typeof claims.client_id === 'string'
      ? claims.client_id
      : typeof claims.azp === 'string'
        ? claims.azp
        : undefined;
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  return {
    issuer,
    claims,
    clientId,
    scopes,
    scopeList: [...scopes],
    jkt,
    x5t,
    exp: num(claims.exp),
    nbf: num(claims.nbf),
    source,
  };
}

/** How long a verified token may be cached: until exp, never past `cap` seconds from now. */
export function cacheUntil(token: VerifiedToken, now: number, capSeconds?: number): number {
  const cap = capSeconds === undefined ? Number.POSITIVE_INFINITY : now + capSeconds;
  return Math.min(token.exp ?? now, cap);
}
