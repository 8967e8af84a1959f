// Verification of a DPoP proof (RFC 9449 §4.3) as an ordered list of small named steps that
// stops at the first failure. The replay entry is written last, only for a proof that passed
// every other check.
import { accessTokenHash } from './ath.js';
import { KeyboundError } from './errors.js';
import { normalizeHtu, normalizeHtuClaim } from './htu.js';
import { defaultKeyCache, type KeyCache, type ResolvedKey, type ValidatedHeader } from './key-cache.js';
import { b64uDecode, b64uDecodeText, b64uEncode, utf8 } from './lib/base64url.js';
import {
  type CryptoProvider,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  type PublicJwk,
} from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';
import { type JsonObject, parseJsonObject } from './lib/json.js';
import { LruCache } from './lib/lru.js';
import type { NonceVerifier } from './nonce.js';
import { type ReplayStore, replayKey } from './replay/store.js';

// EdDSA and its fully-specified name Ed25519 (RFC 9864), which panva's clients send, are the same keys
export const DEFAULT_DPOP_ALGORITHMS: readonly JwsAlgorithm[] = [
  'ES256',
  'ES384',
  'EdDSA',
  'Ed25519',
  'PS256',
  'RS256',
];
export const DEFAULT_MAX_AGE_SECONDS = 60;
export const DEFAULT_CLOCK_SKEW_SECONDS = 5;
export const DEFAULT_MAX_JTI_LENGTH = 256;
export const DEFAULT_MAX_PROOF_LENGTH = 8192;

export interface VerifyProofOptions {
  /** The request method. */
  htm: string;
  /** The request URL as the server knows it publicly (normalised here; query ignored). */
  htu: string;
  /** The access token presented with the proof: its ath must match (RFC 9449 §4.3 check 12). */
  accessToken?: string;
  /** Precomputed ath of accessToken, when the caller has it cached. */
  accessTokenHash?: string;
  /**
   * Current time in epoch seconds (default: the system clock). This and every numeric option below
   * must be a finite number (the others also >= 0): anything else throws a TypeError.
   */
  now?: number;
  /** Accepted signature algorithms (default ES256, ES384, EdDSA, PS256, RS256). */
  algorithms?: readonly JwsAlgorithm[];
  /** How long after its iat a proof is accepted, in seconds (default 60). */
  maxAgeSeconds?: number;
  /** Tolerated clock difference in either direction, in seconds (default 5). */
  clockSkewSeconds?: number;
  /** Longest accepted jti, in characters (default 256). */
  maxJtiLength?: number;
  /** Longest accepted DPoP header value, in characters (default 8192). */
  maxProofLength?: number;
  /** Server nonces: `required` makes a proof without nonce fail with nonce_required. */
  nonce?: { verifier: NonceVerifier; required: boolean };
  /** Where used proofs are remembered. Without one there is no replay check. */
  replayStore?: ReplayStore;
  crypto?: CryptoProvider;
  keyCache?: KeyCache;
}

export interface DpopProofClaims extends JsonObject {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
  ath?: string;
  nonce?: string;
}

export interface VerifiedProof {
  /** RFC 7638 thumbprint of the proof key: compare with cnf.jkt. */
  jkt: string;
  jwk: PublicJwk;
  alg: JwsAlgorithm;
  /** The JOSE header (frozen: it may be shared with other verifications of the same key). */
  header: Readonly<JsonObject>;
  claims: DpopProofClaims;
}

interface Context {
  readonly options: VerifyProofOptions;
  readonly crypto: CryptoProvider;
  readonly keyCache: KeyCache;
  readonly now: number;
  readonly raw: string;
  encodedHeader: string;
  signingInput: string;
  signature: Uint8Array;
  /** Set by parse when this exact header already passed the header checks. */
  validated: ValidatedHeader | undefined;
  header: Readonly<JsonObject>;
  claims: JsonObject;
  alg: JwsAlgorithm;
  key: ResolvedKey;
}

/** A step returns a promise only when it has to wait (key import, WebCrypto, nonce, replay store). */
type Step = (ctx: Context) => void | Promise<void>;

const MAX_RECEIVED = 200;
const clip = (v: unknown): string => {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > MAX_RECEIVED ? `${s.slice(0, MAX_RECEIVED)}…` : s;
};

function decodeObject(part: string, name: 'header' | 'payload'): JsonObject {
  const text = b64uDecodeText(part);
  if (text === undefined)
    throw new KeyboundError('proof_malformed', `the proof ${name} is not base64url-encoded UTF-8`);
  const value = parseJsonObject(text);
  if (value === 'duplicate')
    throw new KeyboundError('duplicate_member', `the proof ${name} repeats a member name`);
  if (value === 'invalid')
    throw new KeyboundError('proof_malformed', `the proof ${name} is not a JSON object`);
  return value;
}

// 1. exactly one proof, a compact JWS whose header and payload are JSON objects
const parse: Step = (ctx) => {
  const input = ctx.raw;
  const limit = ctx.options.maxProofLength ?? DEFAULT_MAX_PROOF_LENGTH;
  if (input.length > limit) {
    throw new KeyboundError('proof_too_large', undefined, { expected: limit, received: input.length });
  }
  const first = input.indexOf('.');
  const second = first < 0 ? -1 : input.indexOf('.', first + 1);
  if (
    second < 0 ||
    input.indexOf('.', second + 1) >= 0 ||
    first === 0 ||
    second === first + 1 ||
    second === input.length - 1
  ) {
    throw new KeyboundError(
      'proof_malformed',
      'the proof is not a compact JWS (three non-empty base64url parts)',
    );
  }
  const encodedHeader = input.slice(0, first);
  const validated = ctx.keyCache.validatedHeader(encodedHeader, ctx.crypto);
  const header = validated?.header ?? decodeObject(encodedHeader, 'header');
  const claims = decodeObject(input.slice(first + 1, second), 'payload');
  const signature = b64uDecode(input.slice(second + 1));
  if (signature === undefined)
    throw new KeyboundError('proof_malformed', 'the proof signature is not base64url');
  ctx.encodedHeader = encodedHeader;
  ctx.validated = validated;
  ctx.header = header;
  ctx.claims = claims;
  ctx.signature = signature;
  ctx.signingInput = input.slice(0, second);
};

// 2. JOSE header: typ, alg in the allow-list, no crit, jwk a public key fitting alg
const joseHeader: Step = (ctx) => {
  const allowed = ctx.options.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  const cached = ctx.validated;
  if (cached !== undefined) {
    // everything but the allow-list (a per-call option) was checked when the header was cached
    if (!allowed.includes(cached.alg)) {
      throw new KeyboundError('alg_not_allowed', undefined, {
        expected: allowed.join(' '),
        received: cached.alg,
      });
    }
    ctx.alg = cached.alg;
    ctx.key = cached.key;
    return;
  }
  const { typ, alg, crit, jwk } = ctx.header;
  if (typeof typ !== 'string' || !/^(application\/)?dpop\+jwt$/i.test(typ)) {
    throw new KeyboundError('typ_invalid', undefined, { expected: 'dpop+jwt', received: clip(typ) });
  }
  if (!isSupportedAlgorithm(alg) || !allowed.includes(alg)) {
    throw new KeyboundError('alg_not_allowed', undefined, {
      expected: allowed.join(' '),
      received: clip(alg),
    });
  }
  if (crit !== undefined) throw new KeyboundError('crit_unsupported');
  if (jwk === undefined) throw new KeyboundError('jwk_missing');
  return ctx.keyCache.resolve(jwk, alg, ctx.crypto).then((key) => {
    ctx.alg = alg;
    ctx.key = key;
    const header = deepFreeze(ctx.header);
    ctx.header = header;
    ctx.keyCache.rememberHeader(ctx.encodedHeader, ctx.crypto, { header, alg, key });
  });
};

// 3. signature, with the key from the header
const signature: Step = (ctx) => {
  const { crypto, alg, key, signingInput } = ctx;
  if (crypto.verifySync !== undefined) {
    if (!crypto.verifySync(alg, key.handle, signingInput, ctx.signature))
      throw new KeyboundError('bad_signature');
    return;
  }
  return crypto.verify(alg, key.handle, utf8(signingInput), ctx.signature).then((ok) => {
    if (!ok) throw new KeyboundError('bad_signature');
  });
};

// normal forms of request URLs and of htu claims, kept apart: a claim must be strict RFC 3986,
// while a request URL has its stray characters percent-encoded (only successes are cached)
const requestHtuCache = new LruCache<string, string>(1000);
const claimHtuCache = new LruCache<string, string>(1000);

function expectedHtu(value: string): string {
  let n = requestHtuCache.get(value);
  if (n === undefined) {
    n = normalizeHtu(value);
    requestHtuCache.set(value, n);
  }
  return n;
}

function receivedHtu(value: unknown, expected: string): string {
  if (typeof value !== 'string') {
    throw new KeyboundError('htu_mismatch', 'the proof has no htu string', {
      expected,
      received: clip(value),
    });
  }
  let n = claimHtuCache.get(value);
  if (n === undefined) {
    try {
      n = normalizeHtuClaim(value);
    } catch (e) {
      const why = e instanceof KeyboundError ? e.message : 'htu is not a URL';
      throw new KeyboundError(
        'htu_mismatch',
        `the proof's htu is not a strict RFC 3986 http(s) URI (${why}); the request is ${expected}`,
        { expected, received: clip(value) },
      );
    }
    claimHtuCache.set(value, n);
  }
  return n;
}

// 4. claims: htm, htu
const claims: Step = (ctx) => {
  const { htm, htu } = ctx.claims;
  const o = ctx.options;
  if (htm !== o.htm)
    throw new KeyboundError('htm_mismatch', undefined, { expected: o.htm, received: clip(htm) });
  const expected = expectedHtu(o.htu);
  // a normal form is itself a strict RFC 3986 URI: a claim equal to it needs no further check
  if (htu !== expected) {
    const received = receivedHtu(htu, expected);
    if (received !== expected) {
      throw new KeyboundError('htu_mismatch', `the proof was made for ${clip(received)}, not ${expected}`, {
        expected,
        received: clip(received),
      });
    }
  }
};

// 5. iat within the window
const checkIat: Step = (ctx) => {
  const { iat } = ctx.claims;
  const o = ctx.options;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new KeyboundError('iat_invalid', undefined, { received: clip(iat) });
  }
  const skew = o.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxAge = o.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const offset = Math.round(iat - ctx.now);
  if (iat > ctx.now + skew) {
    throw new KeyboundError('iat_in_future', `iat is ${offset} s ahead of the server clock`, {
      expected: `<= ${skew} s ahead`,
      received: offset,
    });
  }
  if (iat < ctx.now - maxAge - skew) {
    throw new KeyboundError('iat_too_old', `iat is ${-offset} s old`, {
      expected: `<= ${maxAge + skew} s old`,
      received: offset,
    });
  }
};

// 6. jti present and bounded
const checkJti: Step = (ctx) => {
  const { jti } = ctx.claims;
  if (typeof jti !== 'string' || jti.length === 0) throw new KeyboundError('jti_missing');
  const maxJti = ctx.options.maxJtiLength ?? DEFAULT_MAX_JTI_LENGTH;
  if (jti.length > maxJti)
    throw new KeyboundError('jti_too_long', undefined, { expected: maxJti, received: jti.length });
};

// 7. the server nonce, when nonces are in use
const checkNonce: Step = (ctx) => {
  const { nonce } = ctx.claims;
  const o = ctx.options;
  if (o.nonce === undefined) return;
  if (nonce === undefined) {
    if (o.nonce.required) throw new KeyboundError('nonce_required');
    return;
  }
  if (typeof nonce !== 'string') throw new KeyboundError('nonce_invalid');
  return o.nonce.verifier.check(nonce, ctx.now).then((result) => {
    if (result === 'stale') throw new KeyboundError('nonce_stale');
    if (result === 'invalid') throw new KeyboundError('nonce_invalid');
  });
};

// 8. ath, when an access token is presented
const checkAth: Step = (ctx) => {
  const o = ctx.options;
  if (o.accessToken === undefined && o.accessTokenHash === undefined) return;
  const { ath } = ctx.claims;
  if (typeof ath !== 'string') throw new KeyboundError('ath_missing');
  const check = (expected: string) => {
    if (ath !== expected) throw new KeyboundError('ath_mismatch');
  };
  if (o.accessTokenHash !== undefined) return check(o.accessTokenHash);
  const token = o.accessToken!;
  if (ctx.crypto.sha256Sync !== undefined) return check(b64uEncode(ctx.crypto.sha256Sync(token)));
  return accessTokenHash(token, ctx.crypto).then(check);
};

// 9. replay, last: the entry lives as long as the proof could still pass the iat check
const replay: Step = (ctx) => {
  const store = ctx.options.replayStore;
  if (store === undefined) return;
  const skew = ctx.options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxAge = ctx.options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const iat = ctx.claims.iat as number;
  const ttlMs = Math.max(1000, Math.ceil((iat + maxAge + skew - ctx.now) * 1000));
  let pending: Promise<boolean>;
  try {
    pending = store.setIfAbsent(replayKey(ctx.key.jkt, ctx.claims.jti as string), ttlMs);
  } catch (cause) {
    pending = Promise.reject(cause);
  }
  return pending.then(
    (first) => {
      if (!first) throw new KeyboundError('replay');
    },
    (cause: unknown) => {
      if (cause instanceof KeyboundError) throw cause;
      throw new KeyboundError('replay_store_unavailable', undefined, {}, { cause });
    },
  );
};

/** The checks in the order they run (issue order: htm, htu, iat, jti, nonce, ath, replay last). */
export const PROOF_STEPS: ReadonlyArray<readonly [name: string, step: Step]> = [
  ['parse', parse],
  ['header', joseHeader],
  ['signature', signature],
  ['claims', claims],
  ['iat', checkIat],
  ['jti', checkJti],
  ['nonce', checkNonce],
  ['ath', checkAth],
  ['replay', replay],
];

/**
 * Verifies the DPoP header value(s) of a request. `proof` is what the request carried: one string,
 * the list of values when the header was repeated, or nothing.
 * Resolves with the proof key's thumbprint and the claims; throws a KeyboundError otherwise.
 */
export function verifyProof(
  proof: string | readonly string[] | undefined | null,
  options: VerifyProofOptions,
): Promise<VerifiedProof> {
  return runSteps(proof, options, PROOF_STEPS);
}

/** The steps that show current possession of the key: all but the request (htm, htu) and the nonce. */
const POSSESSION_STEPS = PROOF_STEPS.filter(([name]) => name !== 'claims' && name !== 'nonce');

/**
 * Verifies that the DPoP header shows current possession of its key, whatever request it names:
 * one well-formed proof, typ, alg, jwk, signature, iat in the window, jti, ath and (with a replay
 * store) an unused jti, in verifyProof's order; htm, htu and the server nonce are not checked. For
 * a resource server that tolerates a proof for the wrong URL while it rolls out (report mode) but
 * must never take a bound token without its key.
 */
export function verifyProofPossession(
  proof: string | readonly string[] | undefined | null,
  options: Omit<VerifyProofOptions, 'htm' | 'htu' | 'nonce'>,
): Promise<VerifiedProof> {
  return runSteps(proof, { ...options, htm: '', htu: '' }, POSSESSION_STEPS);
}

async function runSteps(
  proof: string | readonly string[] | undefined | null,
  options: VerifyProofOptions,
  steps: typeof PROOF_STEPS,
): Promise<VerifiedProof> {
  checkNumericOptions(options);
  const ctx = {
    options,
    crypto: options.crypto ?? getDefaultCrypto(),
    keyCache: options.keyCache ?? defaultKeyCache,
    now: options.now ?? Date.now() / 1000,
    raw: singleProof(proof),
  } as Context;
  for (const [, step] of steps) {
    const pending = step(ctx);
    if (pending !== undefined) await pending;
  }
  const { key } = ctx;
  return {
    jkt: key.jkt,
    jwk: key.jwk,
    alg: ctx.alg,
    header: ctx.header,
    claims: ctx.claims as DpopProofClaims,
  };
}

const NUMERIC_OPTIONS = ['maxAgeSeconds', 'clockSkewSeconds', 'maxJtiLength', 'maxProofLength'] as const;

/**
 * A NaN window (e.g. `Number(process.env.SKEW)` unset) would make every iat comparison false and
 * let any proof pass: a misconfiguration is a programming error, thrown before any proof is read.
 */
function checkNumericOptions(o: VerifyProofOptions): void {
  for (const name of NUMERIC_OPTIONS) {
    const v = o[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new TypeError(`verifyProof: ${name} must be a finite number >= 0, not ${String(v)}`);
    }
  }
  if (o.now !== undefined && (typeof o.now !== 'number' || !Number.isFinite(o.now))) {
    throw new TypeError(`verifyProof: now must be a finite number of epoch seconds, not ${String(o.now)}`);
  }
}

function singleProof(proof: string | readonly string[] | undefined | null): string {
  let value = proof;
  if (Array.isArray(value)) {
    if (value.length > 1)
      throw new KeyboundError('proof_multiple', 'the request has more than one DPoP header');
    value = value[0];
  }
  if (typeof value !== 'string' || value.length === 0) throw new KeyboundError('proof_missing');
  if (value.includes(','))
    throw new KeyboundError('proof_multiple', 'the DPoP header holds a list of values');
  return value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
