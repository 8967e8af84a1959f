// An error an endpoint answers with: the RFC error name, a description safe to show (never a
// token, proof or secret), the HTTP status and extra headers (WWW-Authenticate, DPoP-Nonce).
import { isKeyboundError, type KeyboundError } from '@keybound/core';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'unsupported_token_type'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_request_uri'
  | 'request_not_supported'
  | 'login_required'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The keybound error code behind it, when the core raised it (for logs and tests). */
  readonly code: string | undefined;

  constructor(
    error: OAuthErrorCode,
    description: string,
    options: { status?: number; headers?: Record<string, string>; code?: string; cause?: unknown } = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.status = options.status ?? 400;
    this.headers = options.headers ?? {};
    this.code = options.code;
  }
}

export const invalidRequest = (description: string, status = 400) =>
  new OAuthError('invalid_request', description, { status });

export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/** The one error_description of every client authentication failure. */
export const CLIENT_AUTH_FAILED = 'client authentication failed';

/**
 * A client authentication failure (RFC 6749 §5.2): 401 invalid_client with one description for
 * every cause, so an answer tells neither which clients exist nor how they authenticate. `code`
 * says why (for logs and tests); it is never sent.
 */
export const invalidClient = (code: string, headers: Record<string, string> = {}) =>
  new OAuthError('invalid_client', CLIENT_AUTH_FAILED, { status: 401, headers, code });

/**
 * A failure from the core's proof verification, as the token, PAR and other AS endpoints answer
 * it: 400 (never 401, RFC 9449 §5 and §8), use_dpop_nonce with a fresh DPoP-Nonce header, 503 when
 * the replay store cannot be reached.
 */
export function fromProofError(e: KeyboundError, freshNonce?: string): OAuthError {
  const headers: Record<string, string> = {};
  if (freshNonce !== undefined) headers['DPoP-Nonce'] = freshNonce;
  if (e.error === 'temporarily_unavailable') {
    return new OAuthError('temporarily_unavailable', e.message, {
      status: 503,
      headers,
      code: e.code,
      cause: e,
    });
  }
  const error = e.error === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  return new OAuthError(error, e.message, { status: 400, headers, code: e.code, cause: e });
}

export function isOAuthError(e: unknown): e is OAuthError {
  return e instanceof OAuthError;
}

export { isKeyboundError };
