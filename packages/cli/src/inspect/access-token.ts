// Inspecting a JWT access token: what it is bound to (cnf.jkt for DPoP, cnf.x5t#S256 for mTLS),
// whether it is within exp/nbf at the given time, and its signature when the issuer's keys are given.
import { KeyboundError, SUPPORTED_ALGORITHMS } from '@keybound/core';
import { type JWTVerifyGetKey, jwtVerify } from 'jose';
import { keyboundErrorFromJose } from '../jose-errors.js';
import type { DecodedJwt } from './decode.js';
import { type InspectResult, invalidFrom } from './result.js';

export interface AccessTokenInspectOptions {
  /** Epoch seconds exp and nbf are checked against. */
  now: number;
  /** The issuer's keys; without them the signature is not checked. */
  jwks?: JWTVerifyGetKey;
}

type Binding = { method: 'dpop'; jkt: string } | { method: 'mtls'; 'x5t#S256': string } | { method: 'none' };

function bindingOf(claims: Record<string, unknown>): Binding | KeyboundError {
  const cnf = claims.cnf;
  if (cnf === undefined) return { method: 'none' };
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    return new KeyboundError('token_invalid', 'cnf is not a JSON object');
  }
  const { jkt, 'x5t#S256': x5t } = cnf as Record<string, unknown>;
  if (jkt !== undefined && x5t !== undefined) {
    return new KeyboundError('token_invalid', 'cnf holds both jkt and x5t#S256');
  }
  if (jkt !== undefined) {
    return typeof jkt === 'string' && jkt.length > 0
      ? { method: 'dpop', jkt }
      : new KeyboundError('token_invalid', 'cnf.jkt is not a non-empty string');
  }
  if (x5t !== undefined) {
    return typeof x5t === 'string' && x5t.length > 0
      ? { method: 'mtls', 'x5t#S256': x5t }
      : new KeyboundError('token_invalid', 'cnf.x5t#S256 is not a non-empty string');
  }
  return { method: 'none' };
}

interface Lifetime {
  now: number;
  exp?: number;
  nbf?: number;
  status: 'active' | 'expired' | 'not_yet_valid';
  expires_in?: number;
}

function lifetimeOf(claims: Record<string, unknown>, now: number): Lifetime | KeyboundError {
  const { exp, nbf } = claims;
  for (const [name, value] of [
    ['exp', exp],
    ['nbf', nbf],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      return new KeyboundError('token_invalid', `${name} is not a number`);
    }
  }
  const out: Lifetime = { now, status: 'active' };
  if (typeof nbf === 'number') {
    out.nbf = nbf;
    if (nbf > now) {
      return new KeyboundError('token_not_yet_valid', `nbf is ${Math.round(nbf - now)} s after now`, {
        expected: `nbf <= ${now}`,
        received: nbf,
      });
    }
  }
  if (typeof exp === 'number') {
    out.exp = exp;
    if (exp <= now) {
      return new KeyboundError('token_expired', `the token expired ${Math.round(now - exp)} s ago`, {
        expected: `exp > ${now}`,
        received: exp,
      });
    }
    out.expires_in = Math.round(exp - now);
  }
  return out;
}

export async function inspectAccessToken(
  token: string,
  decoded: DecodedJwt,
  o: AccessTokenInspectOptions,
): Promise<InspectResult> {
  const { header, claims } = decoded;
  const context = { header, claims };
  const fail = (e: unknown) => invalidFrom('access_token', e, context);
  if (typeof header.alg !== 'string' || header.alg === 'none') {
    return fail(new KeyboundError('token_invalid', 'the token is not signed (alg missing or none)'));
  }
  const checked: string[] = [];
  const unchecked: Record<string, string> = {};
  if (o.jwks !== undefined) {
    try {
      await jwtVerify(token, o.jwks, {
        currentDate: new Date(o.now * 1000),
        algorithms: [...SUPPORTED_ALGORITHMS],
      });
    } catch (e) {
      return fail(keyboundErrorFromJose(e));
    }
    checked.push('signature');
  } else {
    unchecked.signature = "pass --jwks FILE|URL with the issuer's keys";
  }
  const binding = bindingOf(claims);
  if (binding instanceof KeyboundError) return fail(binding);
  checked.push('cnf');
  const lifetime = lifetimeOf(claims, o.now);
  if (lifetime instanceof KeyboundError) return fail(lifetime);
  if (lifetime.exp === undefined) unchecked.exp = 'the token has no exp: it never expires by itself';
  else checked.push('exp');
  if (lifetime.nbf !== undefined) checked.push('nbf');
  unchecked.aud = 'only the resource server knows which audience it is';
  return {
    kind: 'access_token',
    valid: true,
    ...(binding.method === 'dpop' ? { jkt: binding.jkt } : {}),
    header,
    claims,
    binding,
    lifetime,
    checked,
    unchecked,
  };
}
