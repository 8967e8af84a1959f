// jose's JWT verification errors as keybound error codes.
import { KeyboundError } from '@keybound/core';

const SIGNATURE_ERRORS: Record<string, string> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the signature does not verify with the JWKS key',
  ERR_JWKS_NO_MATCHING_KEY: "no key in the JWKS matches the token's kid and alg",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "several keys in the JWKS match the token's kid and alg",
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token alg is not allowed',
  ERR_JOSE_NOT_SUPPORTED: 'the token alg or key type is not supported',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'a token claim does not validate',
};

/**
 * token_expired, token_not_yet_valid, token_malformed or token_invalid for a verdict on the token;
 * jwks_unavailable when the keys could not be had (network, timeout, a JWKS that is not one).
 */
export function keyboundErrorFromJose(e: unknown): KeyboundError {
  const { code, claim, message } = (e ?? {}) as { code?: string; claim?: string; message?: string };
  if (code === 'ERR_JWT_EXPIRED') return new KeyboundError('token_expired', 'the token has expired');
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (claim === 'nbf') return new KeyboundError('token_not_yet_valid');
    if (claim === 'aud') return new KeyboundError('audience_mismatch');
    if (claim === 'iss') return new KeyboundError('issuer_unknown');
    return new KeyboundError('token_invalid', `claim ${claim ?? '?'}: ${message ?? 'invalid'}`);
  }
  if (code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID') {
    return new KeyboundError('token_malformed', message ?? 'the token is not a well-formed JWT');
  }
  if (code !== undefined && SIGNATURE_ERRORS[code] !== undefined) {
    return new KeyboundError('token_invalid', SIGNATURE_ERRORS[code]);
  }
  const reason = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
  return new KeyboundError('jwks_unavailable', `the JWKS could not be used: ${reason.slice(0, 200)}`);
}
