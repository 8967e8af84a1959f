// protect(): from the facts of one request and the policy to a decision, framework-free.
// An ordered list of named steps that stops at the first failure (DESIGN.md):
//   1 parse     Authorization (one, Bearer or DPoP), token in the query, DPoP values, client
//               certificate (TLS socket, or a trusted proxy's header), spoofed headers
//   2 policy    the route's rule (mode, require, nonce, scopes, algs)
//   3 token     the access token: JWT via JWKS or introspection (cached), scopes, client overrides,
//               a DPoP-bound token under the Bearer scheme (RFC 9449 §7.2)
//   4 proof     the DPoP proof through core verifyProof, whose replay check runs last
//   5 binding   cnf.jkt vs the proof key, cnf["x5t#S256"] vs the certificate, the requirement
// Modes: enforce refuses on any failure. off skips steps 4-5 (the token is still validated as a
// bearer token). report runs every step but lets a failure of steps 4-5 through, recording the
// code enforce would have answered with. Failures of steps 1-3 (no valid token, insufficient
// scope, an issuer or introspection outage, a DPoP-bound token under the Bearer scheme) are
// refused in every mode: report never lets in a request that off would refuse.
// Possession of a bound token's key is required in every mode: in off and report, a token with
// cnf.jkt needs one well-formed, fresh, unused proof signed by that key with the token's ath, and a
// token with cnf["x5t#S256"] that client certificate (the possession check after the steps); only
// the other proof checks (htm, htu, nonce) and the rule's requirement are tolerated.
import {
  accessTokenHash,
  type CryptoProvider,
  certificateThumbprint,
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_MAX_AGE_SECONDS,
  ERROR_CODES,
  FORWARDED_CERT_HEADERS,
  KeyboundError,
  type KeyboundErrorCode,
  type KeyCache,
  LruCache,
  MemoryReplayStore,
  type NonceVerifier,
  parseForwardedClientCert,
  type ReplayStore,
  type VerifiedProof,
  verifyProof,
  verifyProofPossession,
} from '@keybound/core';
import { AccessTokenVerifier, type VerifiedToken } from './access-token.js';
import { errorDescription, type PresentedScheme, wwwAuthenticate } from './challenge.js';
import { classifyClientPath } from './client-path.js';
import type { AllowDecision, Binding, Decision, DecisionEvent, DenyDecision, WouldDeny } from './decision.js';
import type { RequestFacts } from './facts.js';

import { CidrList } from './lib/cidr.js';
import { HeaderView } from './lib/headers.js';
import { metadataPath, type ProtectedResourceMetadata, protectedResourceMetadata } from './metadata.js';
import { type EffectiveRule, type Mode, type Policy, parsePolicy } from './policy.js';
import { publicUrl } from './public-url.js';
import { type CompiledRoute, RouteTable } from './routes.js';

export interface ResourceServerOptions {
  /** The policy (validated with parsePolicy when it is not already a parsed Policy). */
  policy: Policy | unknown;
  /** Where used proofs are remembered (default: an in-memory store for this process). */
  replayStore?: ReplayStore;
  /** Server nonces; required when any rule sets `nonce: true`. */
  nonces?: NonceVerifier;
  /** Receives one event per decision; exceptions it throws are ignored. */
  onDecision?: (event: DecisionEvent) => void;
  /** Clock in epoch seconds (tests). */
  now?: () => number;
  /** fetch for the JWKS and introspection (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Introspection client secrets kept out of the policy file. */
  introspectionSecret?: (issuer: string) => string | undefined;
  keyCache?: KeyCache;
  crypto?: CryptoProvider;
}

export interface ResourceServerStats {
  allow: number;
  deny: number;
  report: number;
  /** Requests from untrusted peers that carried forwarded or certificate headers. */
  spoofAttempts: number;
  /** deny and report counts by reason code. */
  codes: Partial<Record<KeyboundErrorCode, number>>;
}

export interface WellKnownResponse {
  status: number;
  headers: Record<string, string>;
  body: ProtectedResourceMetadata | { error: string; error_description: string };
}

/** Headers a trusted proxy may set; from anyone else they are ignored and counted. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix'];
const CERT_HEADERS = [
  ...new Set(
    Object.values(FORWARDED_CERT_HEADERS).flatMap((h) =>
      [h.cert, h.chain, h.leaf].filter((n): n is string => n !== undefined),
    ),
  ),
];
const WANTED = new Set([
  'authorization',
  'dpop',
  'host',
  ':authority',
  'origin',
  'user-agent',
  'sec-fetch-site',
  'x-forwarded-for',
  ...PROXY_HEADERS,
  ...CERT_HEADERS,
]);

const AUTHORIZATION = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +([A-Za-z0-9\-._~+/]+=*))? *$/;
const EXPOSE = 'DPoP-Nonce, WWW-Authenticate';
/**
 * Steps whose failures report mode lets through and off mode skips, except that a bound token
 * must show possession of its key or certificate in every mode (see possession()).
 */
const SENDER_CONSTRAINT_STEPS = new Set(['proof', 'binding']);

/** The state of one decision, filled in step by step. */
class Context {
  readonly facts: RequestFacts;
  readonly now: number;
  readonly headers: HeaderView;
  readonly path: string;
  /** The target names a scheme other than http(s): refused in the parse step. */
  readonly targetRefused: boolean;
  peerTrusted = false;
  scheme: PresentedScheme = undefined;
  token: string | undefined = undefined;
  certificate: Uint8Array | undefined = undefined;
  certificateError: KeyboundError | undefined = undefined;
  spoofed: string[] | undefined = undefined;
  route: CompiledRoute = undefined as unknown as CompiledRoute;
  rule: EffectiveRule = undefined as unknown as EffectiveRule;
  ath = '';
  verified: VerifiedToken | undefined = undefined;
  proof: VerifiedProof | undefined = undefined;
  binding: Binding = 'bearer';
  x5t: string | undefined = undefined;
  /** The proof key's thumbprint, when the possession check (off, report) verified it. */
  possessedJkt: string | undefined = undefined;

  constructor(facts: RequestFacts, now: number) {
    this.facts = facts;
    this.now = now;
    this.headers = new HeaderView(facts.headers, WANTED);
    const path = requestPath(facts.target);
    this.targetRefused = path === undefined;
    this.path = path ?? facts.target;
  }
}

type Step = (rs: ResourceServer, ctx: Context) => void | Promise<void>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// 1. parse: what the request carries, once; malformed or duplicated → 400
const parse: Step = (rs, ctx) => {
  const { facts } = ctx;
  const h = ctx.headers;
  ctx.peerTrusted = rs.trusted.contains(facts.peerAddress);
  if (ctx.targetRefused) {
    throw new KeyboundError(
      'target_invalid',
      'the request target is neither a path nor an http or https absolute-form URI',
    );
  }
  const auth = h.all('authorization');
  if (auth !== undefined) {
    if (auth.length > 1) {
      throw new KeyboundError(
        'authorization_multiple',
        'the request has more than one Authorization header',
        {
          expected: 1,
          received: auth.length,
        },
      );
    }
    const value = auth[0]!;
    if (value.includes(',')) {
      throw new KeyboundError(
        'authorization_multiple',
        'the Authorization header holds a list of credentials',
      );
    }
    const m = AUTHORIZATION.exec(value);
    if (m === null) throw new KeyboundError('authorization_malformed');
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'bearer' && scheme !== 'dpop') {
      throw new KeyboundError('scheme_unsupported', undefined, {
        expected: 'Bearer or DPoP',
        received: m[1]!.slice(0, 20),
      });
    }
    if (m[2] === undefined)
      throw new KeyboundError('authorization_malformed', `the ${m[1]} credentials are missing`);
    ctx.scheme = scheme;
    ctx.token = m[2];
  }
  const q = facts.target.indexOf('?');
  if (q >= 0 && /(?:^|&)access_token=/.test(facts.target.slice(q + 1))) {
    if (ctx.token !== undefined) {
      throw new KeyboundError(
        'multiple_token_methods',
        'the token was sent in the Authorization header and in the query',
      );
    }
    throw new KeyboundError(
      'token_missing',
      'access tokens in the URI query are not accepted: send the token in the Authorization header',
    );
  }
  // the client certificate: a trusted proxy's header when one is configured, else the TLS socket
  if (rs.certificateHeader !== undefined && ctx.peerTrusted) {
    try {
      ctx.certificate = parseForwardedClientCert(rs.certificateHeader, (name) => h.all(name))?.der;
    } catch (e) {
      if (!(e instanceof KeyboundError)) throw e;
      ctx.certificateError = e; // raised only when a certificate is needed (binding step)
    }
  } else if (facts.tls?.peerCertificate !== undefined && facts.tls.peerCertificate.length > 0) {
    ctx.certificate = facts.tls.peerCertificate;
  }
  if (!ctx.peerTrusted) {
    for (const name of rs.spoofable) {
      if (h.all(name) === undefined) continue;
      if (ctx.spoofed === undefined) ctx.spoofed = [];
      ctx.spoofed.push(name);
    }
  }
};

// 2. policy: the route's rule (client overrides come once the token names the client)
const policy: Step = (rs, ctx) => {
  ctx.route = rs.routes.match(ctx.facts.method, ctx.path);
  ctx.rule = ctx.route.rule;
};

// 3. access token: verified (cached by hash), scopes, then the client's rule
const accessToken: Step = (rs, ctx) => {
  const token = ctx.token;
  if (token === undefined) throw new KeyboundError('token_missing');
  const known = rs.recentHashes.get(token);
  if (known !== undefined) return withHash(rs, ctx, token, known);
  return accessTokenHash(token, rs.crypto).then((ath) => {
    rs.recentHashes.set(token, ath);
    return withHash(rs, ctx, token, ath);
  });
};

function withHash(rs: ResourceServer, ctx: Context, token: string, ath: string): void | Promise<void> {
  ctx.ath = ath;
  const verified = rs.tokens.verify(token, ath, ctx.now);
  if (verified instanceof Promise) return verified.then((v) => tokenVerified(rs, ctx, v));
  tokenVerified(rs, ctx, verified);
}

function tokenVerified(rs: ResourceServer, ctx: Context, verified: VerifiedToken): void {
  ctx.verified = verified;
  const required = ctx.route.rule.scopes;
  for (const scope of required) {
    if (!verified.scopes.has(scope)) {
      const missing = required.filter((s) => !verified.scopes.has(s));
      throw new KeyboundError('insufficient_scope', `the access token lacks the scope ${missing.join(' ')}`, {
        expected: required.join(' '),
      });
    }
  }
  ctx.rule = rs.routes.forClient(ctx.route, verified.issuer, verified.clientId);
  // RFC 9449 §7.2: a DPoP-bound token under the Bearer scheme is refused in every mode: accepted,
  // a stolen bound token would be a bearer token on this route, and no legitimate client holds a
  // jkt-bound token without being able to send a proof. Certificate-bound tokens travel under
  // Bearer (RFC 8705) and are checked in the binding step.
  if (verified.jkt !== undefined && ctx.scheme !== 'dpop') throw new KeyboundError('bound_token_as_bearer');
}

// 4. proof: with the DPoP scheme only (under Bearer a DPoP header is ignored); replay runs last
const proof: Step = (rs, ctx) => {
  if (ctx.scheme !== 'dpop') return;
  const htu = publicUrl(
    rs.publicUrlConfig,
    {
      headers: ctx.headers,
      path: ctx.path,
      encrypted: ctx.facts.tls?.encrypted === true,
      peerTrusted: ctx.peerTrusted,
    },
    rs.hostCache,
  );
  return verifyProof(ctx.headers.all('dpop'), {
    htm: ctx.facts.method,
    htu,
    accessTokenHash: ctx.ath,
    now: ctx.now,
    algorithms: ctx.rule.algs,
    maxAgeSeconds: rs.maxAgeSeconds,
    clockSkewSeconds: rs.clockSkewSeconds,
    nonce: ctx.rule.nonce ? { verifier: rs.nonces!, required: true } : undefined,
    replayStore: rs.replayStore,
    keyCache: rs.keyCache,
    crypto: rs.crypto,
  }).then((verified) => {
    ctx.proof = verified;
  });
};

// 5. binding: the token's cnf against what the request proved, then the rule's requirement
const binding: Step = (rs, ctx) => {
  const token = ctx.verified!;
  if (token.jkt !== undefined) {
    // under the Bearer scheme the token step has refused it already
    jktMatches(token, ctx.proof!.jkt);
  } else if (ctx.scheme === 'dpop') {
    throw new KeyboundError('token_not_bound');
  }
  if (token.x5t === undefined) {
    if (ctx.rule.require === 'mtls' && ctx.certificateError !== undefined) throw ctx.certificateError;
    return requirement(ctx, token.jkt !== undefined, false);
  }
  return boundCertificate(rs, ctx, token.x5t).then((x5t) => {
    ctx.x5t = x5t;
    requirement(ctx, token.jkt !== undefined, true);
  });
};

function jktMatches(token: VerifiedToken, jkt: string): void {
  if (jkt !== token.jkt) {
    throw new KeyboundError('jkt_mismatch', "the proof key's thumbprint is not the token's cnf.jkt", {
      expected: token.jkt,
      received: jkt,
    });
  }
}

/** The thumbprint of the client certificate, which must be the token's cnf["x5t#S256"]. */
function boundCertificate(rs: ResourceServer, ctx: Context, expected: string): Promise<string> {
  if (ctx.certificateError !== undefined) return Promise.reject(ctx.certificateError);
  if (ctx.certificate === undefined) return Promise.reject(new KeyboundError('certificate_missing'));
  return certificateThumbprint(ctx.certificate, rs.crypto).then((x5t) => {
    if (x5t !== expected) throw new KeyboundError('x5t_mismatch', undefined, { expected, received: x5t });
    return x5t;
  });
}

/**
 * Possession of a bound token's key, in off and report modes (enforce has checked it in steps 4-5):
 * a token with cnf.jkt needs one well-formed proof whose typ, alg, jwk and signature are valid,
 * whose key is cnf.jkt, whose ath is this token's, whose iat is in the window and whose jti is new
 * (the replay store); a token with cnf["x5t#S256"] needs that client certificate. htm, htu and the
 * nonce are not checked here: report mode has run them in step 4 and records their failures, off
 * mode does not check them. Throws the code enforce gives for the same failure.
 */
async function possession(rs: ResourceServer, ctx: Context): Promise<void> {
  const token = ctx.verified!;
  if (token.jkt !== undefined) {
    // under the Bearer scheme the token step has refused it; with a proof that passed step 4, its
    // key is known, else the proof is checked for possession alone
    const jkt = ctx.proof?.jkt ?? (await proofKey(rs, ctx));
    jktMatches(token, jkt);
    ctx.possessedJkt = jkt;
  }
  if (token.x5t !== undefined && ctx.x5t === undefined) ctx.x5t = await boundCertificate(rs, ctx, token.x5t);
}

/** The thumbprint of the proof key, once core has verified that the proof shows current possession. */
async function proofKey(rs: ResourceServer, ctx: Context): Promise<string> {
  const verified = await verifyProofPossession(ctx.headers.all('dpop'), {
    accessTokenHash: ctx.ath,
    now: ctx.now,
    algorithms: ctx.rule.algs,
    maxAgeSeconds: rs.maxAgeSeconds,
    clockSkewSeconds: rs.clockSkewSeconds,
    replayStore: rs.replayStore,
    keyCache: rs.keyCache,
    crypto: rs.crypto,
  });
  return verified.jkt;
}

function requirement(ctx: Context, dpop: boolean, mtls: boolean): void {
  // readings of the path selected a DPoP route and an mTLS route: both bindings are required
  if (ctx.rule.requireBoth === true && dpop && !mtls) throw new KeyboundError('mtls_required');
  switch (ctx.rule.require) {
    case 'dpop':
      if (!dpop) throw new KeyboundError('dpop_required');
      break;
    case 'mtls':
      if (!mtls) throw new KeyboundError('mtls_required');
      break;
    case 'either':
      if (!dpop && !mtls) throw new KeyboundError('binding_required');
      break;
  }
  ctx.binding = dpop ? 'dpop' : mtls ? 'mtls' : 'bearer';
}

/** The checks in the order they run. */
export const PROTECT_STEPS: ReadonlyArray<readonly [name: string, step: Step]> = [
  ['parse', parse],
  ['policy', policy],
  ['token', accessToken],
  ['proof', proof],
  ['binding', binding],
];

export class ResourceServer {
  readonly policy: Policy;
  readonly metadata: ProtectedResourceMetadata;
  /** Where the metadata is served (RFC 9728 §3.1). */
  readonly metadataPath: string;
  /** @internal */ readonly routes: RouteTable;
  /** @internal */ readonly tokens: AccessTokenVerifier;
  /** @internal */ readonly trusted: CidrList;
  /** @internal */ readonly replayStore: ReplayStore;
  /** @internal */ readonly nonces: NonceVerifier | undefined;
  /** @internal */ readonly keyCache: KeyCache | undefined;
  /** @internal */ readonly crypto: CryptoProvider | undefined;
  /** @internal */ readonly certificateHeader: Policy['clientCertificateHeader'];
  /** @internal */ readonly spoofable: readonly string[];
  /** @internal */ readonly publicUrlConfig: Parameters<typeof publicUrl>[0];
  /** @internal */ readonly hostCache = new Map<string, string>();
  /**
   * @internal The hashes (ath) of the most recently presented tokens, so that a returning client
   * does not pay a SHA-256 per request; small, because it holds the tokens themselves.
   */
  readonly recentHashes = new LruCache<string, string>(1024);
  /** @internal */ readonly maxAgeSeconds: number;
  /** @internal */ readonly clockSkewSeconds: number;
  readonly #onDecision: ((event: DecisionEvent) => void) | undefined;
  readonly #now: () => number;
  readonly #stats: ResourceServerStats = { allow: 0, deny: 0, report: 0, spoofAttempts: 0, codes: {} };
  readonly #metadataBody: string;

  constructor(options: ResourceServerOptions) {
    this.policy = parsePolicy(options.policy);
    const p = this.policy;
    this.routes = new RouteTable(p);
    this.tokens = new AccessTokenVerifier(p, {
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.introspectionSecret === undefined
        ? {}
        : { introspectionSecret: options.introspectionSecret }),
    });
    this.trusted = new CidrList(p.trustedProxies ?? []);
    this.replayStore = options.replayStore ?? new MemoryReplayStore();
    this.nonces = options.nonces;
    const nonceRules = [
      p.defaults?.nonce,
      ...(p.routes ?? []).map((r) => r.nonce),
      ...(p.clients ?? []).map((c) => c.nonce),
    ];
    if (this.nonces === undefined && nonceRules.includes(true)) {
      throw new TypeError('the policy requires DPoP nonces: pass `nonces` (a NonceManager) in the options');
    }
    this.keyCache = options.keyCache;
    this.crypto = options.crypto;
    this.certificateHeader = p.clientCertificateHeader;
    this.spoofable = [...PROXY_HEADERS, ...CERT_HEADERS];
    this.publicUrlConfig = {
      origins: p.publicOrigins ?? [],
      basePath: p.basePath ?? '',
      trusted: this.trusted,
    };
    this.maxAgeSeconds = p.proof?.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
    this.clockSkewSeconds = p.proof?.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
    this.#onDecision = options.onDecision;
    this.#now = options.now ?? (() => Date.now() / 1000);
    this.metadata = protectedResourceMetadata(p);
    this.metadataPath = metadataPath(p.resource);
    this.#metadataBody = JSON.stringify(this.metadata);
  }

  /** Counts of decisions since start. */
  stats(): ResourceServerStats {
    return { ...this.#stats, codes: { ...this.#stats.codes } };
  }

  /**
   * The RFC 9728 metadata response when the request is for the metadata path, else undefined.
   * Adapters answer it before protect().
   */
  wellKnown(method: string, target: string): WellKnownResponse | undefined {
    // origin-form or http(s) absolute-form, like the targets protect() reads
    if (requestPath(target) !== this.metadataPath) return undefined;
    if (method !== 'GET' && method !== 'HEAD') {
      return {
        status: 405,
        headers: { allow: 'GET, HEAD', 'cache-control': 'no-store' },
        body: { error: 'invalid_request', error_description: 'use GET' },
      };
    }
    return {
      status: 200,
      headers: { 'cache-control': 'max-age=300', 'access-control-allow-origin': '*' },
      body: JSON.parse(this.#metadataBody) as ProtectedResourceMetadata,
    };
  }

  /** Decides one request. Rejects only on a bug (never on bad input): adapters answer 500 then. */
  async protect(facts: RequestFacts): Promise<Decision> {
    const ctx = new Context(facts, this.#now());
    let failure: KeyboundError | undefined;
    let failedStep = '';
    for (const [name, step] of PROTECT_STEPS) {
      if (ctx.rule?.mode === 'off' && SENDER_CONSTRAINT_STEPS.has(name)) break;
      try {
        const pending = step(this, ctx);
        if (pending !== undefined) await pending;
      } catch (e) {
        if (!(e instanceof KeyboundError)) throw e;
        failure = e;
        failedStep = name;
        break;
      }
    }
    if (ctx.route === undefined) {
      ctx.route = this.routes.match(facts.method, ctx.path);
      ctx.rule = ctx.route.rule;
    }
    // off and report modes let a sender constraint go unchecked or unmet, but not the possession
    // of a bound token's key or certificate: a stolen bound token must be useless on every route
    if (
      ctx.rule.mode !== 'enforce' &&
      (ctx.verified?.jkt !== undefined || ctx.verified?.x5t !== undefined) &&
      (failure === undefined || SENDER_CONSTRAINT_STEPS.has(failedStep))
    ) {
      try {
        await possession(this, ctx);
      } catch (e) {
        if (!(e instanceof KeyboundError)) throw e;
        failure = e;
        failedStep = 'possession';
      }
    }
    let decision: Decision;
    if (failure === undefined) {
      decision = this.#allow(ctx, undefined, ctx.rule.nonce ? await this.nonces?.issue(ctx.now) : undefined);
    } else if (SENDER_CONSTRAINT_STEPS.has(failedStep) && ctx.rule.mode === 'report') {
      decision = this.#allow(ctx, failure, ctx.rule.nonce ? await this.nonces?.issue(ctx.now) : undefined);
    } else {
      decision = await this.#deny(ctx, failure);
    }
    this.#record(ctx, decision);
    return decision;
  }

  #allow(ctx: Context, failure: KeyboundError | undefined, nonce: string | undefined): AllowDecision {
    const token = ctx.verified!;
    const headers: Record<string, string> = {};
    if (nonce !== undefined) headers['DPoP-Nonce'] = nonce;
    if (ctx.headers.all('origin') !== undefined) headers['Access-Control-Expose-Headers'] = EXPOSE;
    let wouldDeny: WouldDeny | undefined;
    if (failure !== undefined) {
      const info = ERROR_CODES[failure.code];
      wouldDeny = {
        code: failure.code,
        status: info.status,
        error: info.error,
        description: errorDescription(failure.code, failure.message),
      };
    }
    // what was verified of the binding: in off and report modes, the possession check's result
    const verifiedBinding: Binding =
      failure === undefined && ctx.binding !== 'bearer'
        ? ctx.binding
        : ctx.possessedJkt !== undefined
          ? 'dpop'
          : ctx.verified?.x5t !== undefined && ctx.x5t !== undefined
            ? 'mtls'
            : 'bearer';
    const decision: Mutable<AllowDecision> = {
      allow: true,
      claims: token.claims,
      issuer: token.issuer,
      clientId: token.clientId,
      scopes: token.scopeList,
      binding: verifiedBinding,
      route: ctx.route.name,
      mode: ctx.rule.mode,
      responseHeaders: headers,
    };
    if (verifiedBinding === 'dpop') decision.jkt = ctx.possessedJkt ?? ctx.proof!.jkt;
    if (ctx.x5t !== undefined && (failure === undefined || ctx.verified?.x5t !== undefined))
      decision.x5t = ctx.x5t;
    if (wouldDeny !== undefined) decision.wouldDeny = wouldDeny;
    return decision;
  }

  async #deny(ctx: Context, failure: KeyboundError): Promise<DenyDecision> {
    const info = ERROR_CODES[failure.code];
    const description = errorDescription(failure.code, failure.message);
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    const challenge = wwwAuthenticate(
      ctx.rule,
      ctx.scheme,
      this.policy.realm,
      // RFC 6750 §3.1: a request without any authentication information, or attempting an
      // unsupported authentication method, gets the challenges without an error code
      failure.code === 'scheme_unsupported' ||
        (failure.code === 'token_missing' &&
          ctx.token === undefined &&
          !ctx.facts.target.includes('access_token='))
        ? undefined
        : {
            code: failure.code,
            description,
            ...(failure.code === 'insufficient_scope' ? { scope: ctx.route.rule.scopes.join(' ') } : {}),
          },
    );
    if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
    if (info.error === 'use_dpop_nonce' && this.nonces !== undefined) {
      headers['DPoP-Nonce'] = await this.nonces.issue(ctx.now);
    }
    if (info.status === 503) headers['Retry-After'] = String(this.policy.retryAfterSeconds ?? 5);
    if (ctx.headers.all('origin') !== undefined) headers['Access-Control-Expose-Headers'] = EXPOSE;
    return {
      allow: false,
      status: info.status,
      headers,
      body: { error: info.error, error_description: description },
      code: failure.code,
      route: ctx.route.name,
      mode: ctx.rule.mode,
    };
  }

  #record(ctx: Context, decision: Decision): void {
    const s = this.#stats;
    const code = decision.allow ? decision.wouldDeny?.code : decision.code;
    const outcome = decision.allow ? (decision.wouldDeny === undefined ? 'allow' : 'report') : 'deny';
    s[outcome]++;
    if (code !== undefined) s.codes[code] = (s.codes[code] ?? 0) + 1;
    if (ctx.spoofed !== undefined) s.spoofAttempts++;
    const sink = this.#onDecision;
    if (sink === undefined) return;
    const h = ctx.headers;
    const event: DecisionEvent = {
      time: new Date(ctx.now * 1000).toISOString(),
      method: ctx.facts.method,
      route: decision.route,
      mode: decision.mode,
      outcome,
      status: decision.allow ? 200 : decision.status,
      scheme: ctx.scheme ?? 'none',
      binding: decision.allow ? decision.binding : 'none',
      clientPath: classifyClientPath({
        origin: h.first('origin'),
        secFetchSite: h.first('sec-fetch-site'),
        userAgent: h.first('user-agent'),
        certificate: ctx.certificate !== undefined,
        forwardedByTrustedProxy:
          ctx.peerTrusted && (h.all('x-forwarded-for') !== undefined || h.all('forwarded') !== undefined),
      }),
    };
    if (code !== undefined) event.code = code;
    if (ctx.verified !== undefined) {
      if (ctx.verified.clientId !== undefined) event.clientId = ctx.verified.clientId;
      event.issuer = ctx.verified.issuer;
    }
    if (decision.allow && decision.jkt !== undefined) event.jkt = decision.jkt;
    if (decision.allow && decision.x5t !== undefined) event.x5t = decision.x5t;
    if (ctx.spoofed !== undefined) event.spoofedHeaders = ctx.spoofed;
    try {
      sink(event);
    } catch {
      // a telemetry sink must never change or break a decision
    }
  }
}

/**
 * The path of a request target (origin-form or absolute-form), without query or fragment. In
 * absolute-form the authority ends at the first "/", "?" or "#" (RFC 3986 §3.2); when "?" or "#"
 * comes first the path is empty, which is "/" (RFC 9112 §3.2.2), as every framework routes it.
 * Undefined for a target that starts with a scheme other than http:// or https:// (`x://h/admin`,
 * `ftp://h/a`, `x:/admin`, `http:/admin`, `https:\\h/a`): Express (url.parse) takes a path out of
 * any of them, which no route reading here can follow; protect() refuses them.
 */
function requestPath(target: string): string | undefined {
  let path = target;
  if (!path.startsWith('/')) {
    if (/^https?:\/\//i.test(path)) {
      const start = path.indexOf('//') + 2;
      let end = path.length;
      for (const c of '/?#') {
        const i = path.indexOf(c, start);
        if (i >= 0 && i < end) end = i;
      }
      path = path[end] === '/' ? path.slice(end) : `/${path.slice(end)}`;
    } else if (SCHEME.test(path)) {
      return undefined;
    }
  }
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const f = path.indexOf('#');
  if (f >= 0 && f < end) end = f;
  return end === path.length ? path : path.slice(0, end);
}

/** A URI scheme and its ":" (RFC 3986 §3.1), as url.parse recognises one. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Creates the resource server: validates the policy and prepares caches; protect() decides. */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  return new ResourceServer(options);
}

export type { Mode };
