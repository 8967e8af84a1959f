// Every failure in keybound has a stable machine code. The table below is the single source of
// truth: the RFC error each code maps to at the HTTP edge, the status a resource server answers
// with, and a one-line meaning (docs/error-codes.md is checked against it by a test).

export type OAuthErrorName =
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'invalid_request'
  | 'insufficient_scope'
  | 'invalid_client'
  | 'invalid_grant'
  | 'temporarily_unavailable';

interface CodeInfo {
  /** Who raises it: servers (resource server, authorization server, gateway) or the client SDK. */
  readonly side?: 'client';
  readonly error: OAuthErrorName;
  /** Status a resource server answers with (the token endpoint answers 400 for proof errors). */
  readonly status: 400 | 401 | 403 | 503;
  readonly meaning: string;
}

const proof = (meaning: string): CodeInfo => ({ error: 'invalid_dpop_proof', status: 401, meaning });
const nonce = (meaning: string): CodeInfo => ({ error: 'use_dpop_nonce', status: 401, meaning });
const token = (meaning: string): CodeInfo => ({ error: 'invalid_token', status: 401, meaning });
const request = (meaning: string): CodeInfo => ({ error: 'invalid_request', status: 400, meaning });
const unavailable = (meaning: string): CodeInfo => ({
  error: 'temporarily_unavailable',
  status: 503,
  meaning,
});
const client = (info: CodeInfo): CodeInfo => ({ ...info, side: 'client' });

export const ERROR_CODES = {
  // DPoP proof (RFC 9449 §4.3), in the order the checks run
  proof_missing: proof('no DPoP header was sent where a proof is required'),
  proof_multiple: proof('more than one DPoP header, or a DPoP header holding a list'),
  proof_too_large: proof('the DPoP header is longer than the configured limit'),
  proof_malformed: proof('not a compact JWS with a JSON object header and payload'),
  duplicate_member: proof('a JOSE header or claim name appears twice'),
  typ_invalid: proof('the JOSE header typ is not dpop+jwt'),
  alg_not_allowed: proof('alg is missing, symmetric, none, or not in the allow-list'),
  crit_unsupported: proof('the JOSE header carries crit, which no extension here understands'),
  jwk_missing: proof('the JOSE header has no jwk object'),
  jwk_private: proof('the jwk in the header contains private key material'),
  jwk_invalid: proof('the jwk is not a well-formed public key'),
  jwk_alg_mismatch: proof("the jwk's key type or curve does not fit alg"),
  bad_signature: proof('the signature does not verify with the embedded jwk'),
  htm_mismatch: proof('htm is missing or differs from the request method'),
  htu_mismatch: proof('htu is missing or differs from the request URL (scheme, host, port, path)'),
  iat_invalid: proof('iat is missing or not a number'),
  iat_too_old: proof('iat is older than the accepted window'),
  iat_in_future: proof('iat is further in the future than the allowed clock skew'),
  jti_missing: proof('jti is missing or empty'),
  jti_too_long: proof('jti is longer than the configured limit'),
  nonce_required: nonce('the server requires a nonce and the proof carries none'),
  nonce_stale: nonce('the nonce was issued by this server but has expired'),
  nonce_invalid: nonce('the nonce was not issued by this server'),
  ath_missing: proof('an access token was presented but the proof has no ath'),
  ath_mismatch: proof('ath is not the hash of the presented access token'),
  replay: proof('this proof (key and jti) was already used'),
  replay_store_unavailable: unavailable('the replay store could not be reached; the request is refused'),
  replay_store_full: unavailable(
    'the in-memory replay store is full of live entries; the request is refused',
  ),

  // Access tokens and binding (RFC 6750, RFC 9449 §7, RFC 8705 §3)
  token_missing: { error: 'invalid_token', status: 401, meaning: 'no access token was presented' },
  authorization_malformed: request('the Authorization header is not "<scheme> <token68>"'),
  target_invalid: request('the request target is neither a path nor an http(s) absolute-form URI'),
  authorization_multiple: request('more than one Authorization header'),
  multiple_token_methods: request('the token was presented in more than one way (RFC 6750 §2)'),
  scheme_unsupported: token('the Authorization scheme is neither Bearer nor DPoP'),
  token_malformed: token('the access token is not a well-formed JWT'),
  token_invalid: token('the access token signature or claims do not verify'),
  token_expired: token('the access token has expired'),
  token_not_yet_valid: token('the access token nbf is in the future'),
  token_inactive: token('introspection says the token is not active'),
  issuer_unknown: token('the access token issuer is not configured'),
  audience_mismatch: token('the access token aud does not name this resource'),
  insufficient_scope: {
    error: 'insufficient_scope',
    status: 403,
    meaning: 'the token lacks a required scope',
  },
  token_not_bound: token('the DPoP scheme was used with a token that has no cnf.jkt'),
  bound_token_as_bearer: token('a sender-constrained token was presented with the Bearer scheme'),
  dpop_required: token('the policy requires a DPoP-bound token; a bearer token was presented'),
  mtls_required: token('the policy requires a certificate-bound token'),
  binding_required: token('the policy requires a DPoP- or certificate-bound token'),
  jkt_mismatch: token("cnf.jkt differs from the proof key's thumbprint"),
  x5t_mismatch: token("cnf.x5t#S256 differs from the presented certificate's thumbprint"),
  certificate_missing: token('the token is certificate-bound but no client certificate was presented'),
  jwks_unavailable: unavailable('the issuer JWKS could not be fetched'),
  introspection_unavailable: unavailable('the introspection endpoint could not be reached'),

  // Client certificates (RFC 8705, RFC 9440 and proxy formats)
  cert_malformed: request('the certificate is not a DER X.509 certificate'),
  cert_header_malformed: request('the forwarded certificate header cannot be parsed'),
  cert_header_repeated: request('the forwarded certificate header was sent more than once'),
  cert_header_list: request('the forwarded certificate header holds more than one certificate element'),
  cert_spoofed: request('a forwarded certificate header came from a peer that is not a trusted proxy'),

  // Client SDK (@keybound/client): what a client meets in servers' answers and in its own runtime.
  // The client throws these; error/status name the RFC error a server would use for the condition.
  key_storage_unavailable: client(
    unavailable(
      'no persistent key storage (IndexedDB missing or failing) and no explicit in-memory fallback was chosen',
    ),
  ),
  stored_key_mismatch: client(
    request(
      'the key stored under this id has another algorithm than the one asked for, or cannot be used (pass replace to replace it)',
    ),
  ),
  redirect_not_followed: client(
    request(
      'a protected request was redirected where the runtime hides the target (a browser): not followed',
    ),
  ),
  server_unreachable: client(unavailable('the request to a server failed before any response arrived')),
  response_malformed: client(
    unavailable('a server response is not what the protocol requires (JSON, members, types)'),
  ),
  response_too_large: client(unavailable('a server response body is larger than the configured limit')),
  metadata_invalid: client(
    unavailable('authorization server metadata is missing, malformed, or names another issuer'),
  ),
  token_type_mismatch: client(
    token('the token endpoint issued another token type than requested (Bearer for DPoP)'),
  ),
  token_request_failed: client({
    error: 'invalid_grant',
    status: 400,
    meaning: 'the token endpoint answered with an OAuth error (its error code is in detail.error)',
  }),
  authorization_failed: client(request('the authorization response carries an error, or no code')),
  state_mismatch: client(
    request('the authorization response state or iss differs from what this client expects'),
  ),
  login_required: client(token('no access token is held and none can be obtained without the user')),
  key_rotation_refused: client({
    error: 'invalid_grant',
    status: 400,
    meaning: 'the authorization server refused to re-bind the refresh token to the new key',
  }),
} as const satisfies Record<string, CodeInfo>;

export type KeyboundErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  /** What was expected, safe to log (never a token, proof or secret). */
  expected?: string | number;
  /** What was received, safe to log. */
  received?: string | number;
  [key: string]: unknown;
}

/** The one error class of keybound: `code` is stable, `message` says what went wrong in words. */
export class KeyboundError extends Error {
  override readonly name = 'KeyboundError';
  readonly code: KeyboundErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: KeyboundErrorCode, message?: string, detail: ErrorDetail = {}, options?: ErrorOptions) {
    super(message ?? ERROR_CODES[code].meaning, options);
    this.code = code;
    this.detail = detail;
  }

  /** The RFC error name for this code (invalid_dpop_proof, use_dpop_nonce, invalid_token, …). */
  get error(): OAuthErrorName {
    return ERROR_CODES[this.code].error;
  }

  /** The status a resource server answers with. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): { code: KeyboundErrorCode; error: OAuthErrorName; message: string; detail: ErrorDetail } {
    return { code: this.code, error: this.error, message: this.message, detail: this.detail };
  }
}

export function isKeyboundError(e: unknown, code?: KeyboundErrorCode): e is KeyboundError {
  return e instanceof KeyboundError && (code === undefined || e.code === code);
}
