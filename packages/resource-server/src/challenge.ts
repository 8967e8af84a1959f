// Refusals as RFC 6750 §3 and RFC 9449 §7.1 write them: the status of the error code, and a
// WWW-Authenticate header with a challenge for every scheme the route accepts, the error on the
// scheme the client used.
import { type Challenge, ERROR_CODES, formatWwwAuthenticate, type KeyboundErrorCode } from '@keybound/core';
import type { EffectiveRule } from './policy.js';

export type PresentedScheme = 'bearer' | 'dpop' | undefined;

/** Descriptions the RFC examples use, for the codes they illustrate. */
const RFC_DESCRIPTIONS: Partial<Record<KeyboundErrorCode, string>> = {
  jkt_mismatch: 'Invalid DPoP key binding',
  nonce_required: 'Resource server requires nonce in DPoP proof',
  nonce_stale: 'Resource server requires nonce in DPoP proof',
  nonce_invalid: 'Resource server requires nonce in DPoP proof',
  token_invalid: 'Invalid token',
};

export function errorDescription(code: KeyboundErrorCode, message: string): string {
  const rfc = RFC_DESCRIPTIONS[code];
  if (rfc !== undefined) return rfc;
  const text = message.length > 0 ? message : ERROR_CODES[code].meaning;
  return text[0]!.toUpperCase() + text.slice(1);
}

/** Which schemes a rule lets a client use (mTLS-bound tokens travel under Bearer, RFC 8705). */
export function acceptedSchemes(rule: EffectiveRule): { bearer: boolean; dpop: boolean } {
  if (rule.mode !== 'enforce') return { bearer: true, dpop: true };
  switch (rule.require) {
    case 'dpop':
      return { bearer: false, dpop: true };
    case 'mtls':
      return { bearer: true, dpop: false };
    default:
      return { bearer: true, dpop: true };
  }
}

export interface ChallengeError {
  code: KeyboundErrorCode;
  description: string;
  scope?: string;
}

/**
 * The WWW-Authenticate value for a refusal (or, without `error`, for a request with no token).
 * Returns undefined for answers that carry no challenge (503).
 */
export function wwwAuthenticate(
  rule: EffectiveRule,
  presented: PresentedScheme,
  realm: string | undefined,
  error?: ChallengeError,
): string | undefined {
  const info = error === undefined ? undefined : ERROR_CODES[error.code];
  if (info !== undefined && info.status === 503) return undefined;
  const accepted = acceptedSchemes(rule);
  const isNonce = info?.error === 'use_dpop_nonce';
  const bearer: Challenge = { scheme: 'Bearer' };
  const dpop: Challenge = { scheme: 'DPoP', algs: rule.algs };
  if (realm !== undefined) {
    bearer.realm = realm;
    dpop.realm = realm;
  }
  const list: Challenge[] = [];
  if (isNonce) {
    // RFC 9449 §9 example: the nonce challenge names only the DPoP scheme, without algs
    list.push({ ...dpop, algs: undefined });
  } else {
    if (accepted.bearer) list.push(bearer);
    if (accepted.dpop) list.push(dpop);
  }
  if (error !== undefined && info !== undefined) {
    const target =
      list.find((c) => c.scheme.toLowerCase() === presented) ??
      (presented === undefined ? list[0] : undefined);
    const carrier = target ?? list[0]!;
    carrier.error = info.error;
    carrier.errorDescription = error.description;
    if (error.scope !== undefined) carrier.scope = error.scope;
  }
  return formatWwwAuthenticate(list);
}
