// The token lifecycle of one client at one authorization server: client_credentials, authorization
// code + PKCE + dpop_jkt (optionally through PAR), refresh before expiry with the same key, one
// refresh at a time however many callers need a token, key rotation, and a fetch that presents the
// token with a proof to the protected origins.
import { type CryptoProvider, type DpopKey, isKeyboundError, KeyboundError } from '@keybound/core';
import { parseAuthorizationResponse } from './authorization-response.js';
import type { ClientAuth } from './client-auth.js';
import { type DiscoverOptions, discover } from './discover.js';
import { type BoundToken, createDpopFetch, type FetchLike } from './dpop-fetch.js';
import { DpopSession } from './dpop-session.js';
import { type AuthorizationServerMetadata, endpointUrl } from './metadata.js';
import { createPkce } from './pkce.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './read-body.js';
import { type EndpointContext, postToEndpoint } from './token-endpoint.js';
import { parseTokenResponse, type TokenSet } from './token-response.js';

export interface OAuthClientOptions {
  metadata: AuthorizationServerMetadata;
  clientId: string;
  /** How the client authenticates at the token endpoint (default: none, a public client). */
  clientAuth?: ClientAuth;
  /** The DPoP key. Without one (and without `session`), tokens are Bearer: certificate-bound via mTLS. */
  dpopKey?: DpopKey;
  /** A DPoP session to share (its key is used; nonces and clock offsets are shared). */
  session?: DpopSession;
  /** The fetch used for every request (default globalThis.fetch; for mTLS, createMtlsFetch from /node). */
  fetch?: FetchLike;
  /** Use mtls_endpoint_aliases (RFC 8705 §5). Default: true for tls_client_auth client authentication. */
  mtls?: boolean;
  /** Origins whose requests through client.fetch get the token (and a proof). */
  protectedOrigins?: readonly string[];
  /** Renew this many seconds before the access token expires (default 30). */
  refreshSkewSeconds?: number;
  /** Largest token or metadata response accepted (default 256 KiB). */
  maxResponseBytes?: number;
  /** Tokens saved earlier (e.g. across a page reload). */
  tokens?: TokenSet;
  /** Called whenever the tokens change (undefined: forgotten), to persist them. */
  onTokens?: (tokens: TokenSet | undefined) => void;
  /** How many servers' nonces and clock offsets are remembered (default 100). */
  maxOrigins?: number;
  crypto?: CryptoProvider;
}

/** What the client must keep between sending the user to the AS and the redirect back. */
export interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
}

export interface AuthorizationUrlOptions {
  redirectUri: string;
  scope?: string;
  /** Default: 128 random bits. */
  state?: string;
  /** RFC 8707 resource indicators. */
  resource?: string | readonly string[];
  extraParams?: Record<string, string>;
  /** Push the request first (RFC 9126). Default: when the AS requires it. */
  par?: boolean;
}

export interface GrantOptions {
  scope?: string;
  resource?: string | readonly string[];
  extraParams?: Record<string, string>;
}

function randomState(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function grantParams(grant: string, options: GrantOptions = {}): Record<string, string> {
  const params: Record<string, string> = { ...options.extraParams, grant_type: grant };
  if (options.scope !== undefined) params.scope = options.scope;
  return params;
}

function addResources(target: URLSearchParams, resource: string | readonly string[] | undefined): void {
  if (resource === undefined) return;
  for (const r of typeof resource === 'string' ? [resource] : resource) target.append('resource', r);
}

export class OAuthClient {
  readonly #metadata: AuthorizationServerMetadata;
  readonly #clientId: string;
  readonly #clientAuth: ClientAuth;
  readonly #session: DpopSession | undefined;
  readonly #fetch: FetchLike;
  readonly #mtls: boolean;
  readonly #skewMs: number;
  readonly #maxBytes: number;
  readonly #onTokens: ((tokens: TokenSet | undefined) => void) | undefined;
  readonly #crypto: CryptoProvider | undefined;
  #tokens: TokenSet | undefined;
  /** The client_credentials request to repeat when the token runs out and there is no refresh token. */
  #clientCredentials: GrantOptions | undefined;
  /** The one token request in flight (refresh, renewal or rotation); every caller waits for it. */
  #pending: Promise<void> | undefined;
  /** Fetch that presents the token with a proof to the protected origins. */
  readonly fetch: FetchLike;

  /** Discovers the issuer's metadata (RFC 8414) and builds a client for it. */
  static async discover(
    issuer: string,
    options: Omit<OAuthClientOptions, 'metadata'> & Pick<DiscoverOptions, 'maxResponseBytes'>,
  ): Promise<OAuthClient> {
    const metadata = await discover(issuer, {
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
      ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
    });
    return new OAuthClient({ ...options, metadata });
  }

  constructor(options: OAuthClientOptions) {
    if (typeof options?.clientId !== 'string' || options.clientId.length === 0)
      throw new TypeError('clientId is required');
    if (typeof options.metadata?.token_endpoint !== 'string')
      throw new TypeError('metadata with a token_endpoint is required');
    this.#metadata = options.metadata;
    this.#clientId = options.clientId;
    this.#clientAuth = options.clientAuth ?? { method: 'none' };
    this.#session =
      options.session ??
      (options.dpopKey === undefined
        ? undefined
        : new DpopSession({
            key: options.dpopKey,
            ...(options.maxOrigins !== undefined ? { maxOrigins: options.maxOrigins } : {}),
            ...(options.crypto !== undefined ? { crypto: options.crypto } : {}),
          }));
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const method = this.#clientAuth.method;
    this.#mtls = options.mtls ?? (method === 'tls_client_auth' || method === 'self_signed_tls_client_auth');
    this.#skewMs = (options.refreshSkewSeconds ?? 30) * 1000;
    this.#maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#onTokens = options.onTokens;
    this.#crypto = options.crypto;
    this.#tokens = options.tokens;
    const algs = this.#metadata.dpop_signing_alg_values_supported;
    if (this.#session !== undefined && algs !== undefined && !algs.includes(this.#session.key.alg)) {
      throw new KeyboundError(
        'alg_not_allowed',
        'the authorization server does not accept proofs with this key',
        {
          expected: algs.join(' '),
          received: this.#session.key.alg,
        },
      );
    }
    this.fetch = createDpopFetch({
      origins: options.protectedOrigins ?? [],
      getAccessToken: () => this.#boundToken(),
      fetch: this.#fetch,
      ...(this.#session !== undefined ? { session: this.#session } : {}),
    });
  }

  get metadata(): AuthorizationServerMetadata {
    return this.#metadata;
  }

  /** The DPoP session (key, nonces, clock offsets), if the client uses DPoP. */
  get session(): DpopSession | undefined {
    return this.#session;
  }

  get dpopKey(): DpopKey | undefined {
    return this.#session?.key;
  }

  get tokens(): TokenSet | undefined {
    return this.#tokens;
  }

  #context(): EndpointContext {
    return {
      metadata: this.#metadata,
      clientId: this.#clientId,
      clientAuth: this.#clientAuth,
      session: this.#session,
      fetch: this.#fetch,
      mtls: this.#mtls,
      maxResponseBytes: this.#maxBytes,
      ...(this.#crypto !== undefined ? { crypto: this.#crypto } : {}),
    };
  }

  #setTokens(tokens: TokenSet | undefined): void {
    this.#tokens = tokens;
    this.#onTokens?.(tokens);
  }

  async #tokenRequest(
    params: Record<string, string>,
    resource?: string | readonly string[],
    key?: DpopKey,
  ): Promise<TokenSet> {
    const body = new URLSearchParams(params);
    addResources(body, resource);
    const result = await postToEndpoint(this.#context(), 'token_endpoint', body, {
      ...(key !== undefined ? { key } : {}),
    });
    return parseTokenResponse(result.body, {
      tokenType: this.#session === undefined ? 'Bearer' : 'DPoP',
      receivedAt: result.receivedAt,
    });
  }

  /** client_credentials (RFC 6749 §4.4); the same request is repeated when the token runs out. */
  async clientCredentials(options: GrantOptions = {}): Promise<TokenSet> {
    const tokens = await this.#tokenRequest(grantParams('client_credentials', options), options.resource);
    this.#clientCredentials = options;
    this.#setTokens(tokens);
    return tokens;
  }

  /**
   * Builds the authorization request: PKCE S256, state, and dpop_jkt (RFC 9449 §10) binding the code
   * to this client's key. Keep the result (e.g. in sessionStorage) until the redirect comes back.
   */
  async authorizationUrl(options: AuthorizationUrlOptions): Promise<AuthorizationRequest> {
    const authorizationEndpoint = endpointUrl(this.#metadata, 'authorization_endpoint', false);
    const pkce = await createPkce(this.#crypto);
    const state = options.state ?? randomState();
    const params = new URLSearchParams({
      ...options.extraParams,
      response_type: 'code',
      client_id: this.#clientId,
      redirect_uri: options.redirectUri,
      state,
      code_challenge: pkce.codeChallenge,
      code_challenge_method: pkce.codeChallengeMethod,
    });
    if (options.scope !== undefined) params.set('scope', options.scope);
    if (this.#session !== undefined) params.set('dpop_jkt', this.#session.key.jkt);
    addResources(params, options.resource);
    const url = new URL(authorizationEndpoint);
    const usePar = options.par ?? this.#metadata.require_pushed_authorization_requests === true;
    if (usePar) {
      const { body } = await postToEndpoint(
        this.#context(),
        'pushed_authorization_request_endpoint',
        params,
        {
          successStatus: 201,
        },
      );
      if (
        typeof body.request_uri !== 'string' ||
        body.request_uri.length === 0 ||
        body.request_uri.length > 2048
      ) {
        throw new KeyboundError('response_malformed', 'the PAR response has no usable request_uri', {
          member: 'request_uri',
          expected: 'a string',
          received: typeof body.request_uri,
        });
      }
      url.searchParams.set('client_id', this.#clientId);
      url.searchParams.set('request_uri', body.request_uri);
    } else {
      for (const [name, value] of params) url.searchParams.append(name, value);
    }
    return { url: url.href, state, codeVerifier: pkce.codeVerifier, redirectUri: options.redirectUri };
  }

  /** Checks the redirect back (iss, state, error) and exchanges the code, with a proof from this key. */
  async handleRedirect(redirectUrl: string | URL, request: AuthorizationRequest): Promise<TokenSet> {
    const code = parseAuthorizationResponse(redirectUrl, {
      state: request.state,
      issuer: this.#metadata.issuer,
      issRequired: this.#metadata.authorization_response_iss_parameter_supported === true,
    });
    const tokens = await this.#tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: request.redirectUri,
      code_verifier: request.codeVerifier,
    });
    this.#clientCredentials = undefined;
    this.#setTokens(tokens);
    return tokens;
  }

  /** Runs one token request at a time: callers arriving while one runs wait for it. */
  #exclusive(task: () => Promise<void>): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const run = task().finally(() => {
      if (this.#pending === run) this.#pending = undefined;
    });
    this.#pending = run;
    return run;
  }

  async #refreshNow(key?: DpopKey): Promise<void> {
    const current = this.#tokens;
    if (current?.refreshToken === undefined) {
      throw new KeyboundError('login_required', 'there is no refresh token to refresh with');
    }
    let tokens: TokenSet;
    try {
      tokens = await this.#tokenRequest(
        { grant_type: 'refresh_token', refresh_token: current.refreshToken },
        undefined,
        key,
      );
    } catch (e) {
      // a refresh token the server no longer accepts is dropped, so that nobody retries it
      if (
        key === undefined &&
        isKeyboundError(e, 'token_request_failed') &&
        e.detail.error === 'invalid_grant'
      ) {
        this.#setTokens(undefined);
      }
      throw e;
    }
    if (key !== undefined) this.#session!.setKey(key);
    // RFC 6749 §6: the server may keep the refresh token; then the old one stays valid
    this.#setTokens({ ...tokens, refreshToken: tokens.refreshToken ?? current.refreshToken });
  }

  #expiring(tokens: TokenSet): boolean {
    return tokens.expiresAt !== undefined && tokens.expiresAt - this.#skewMs <= Date.now();
  }

  /** Refreshes now (single-flight: concurrent calls share one request), with the same key. */
  async refresh(): Promise<TokenSet> {
    await this.#exclusive(() => this.#refreshNow());
    return this.#tokens!;
  }

  /**
   * A usable access token: the current one, or a renewed one when it expires within the skew
   * (refresh token if there is one, else the client_credentials request again). Single-flight.
   */
  async getAccessToken(): Promise<string> {
    return (await this.#boundToken()).accessToken;
  }

  /** The token and the key it is bound to, read together (a rotation swaps both at once). */
  async #boundToken(): Promise<BoundToken> {
    const held = this.#tokens;
    if (held !== undefined && !this.#expiring(held)) return this.#pair(held);
    await this.#exclusive(async () => {
      if (this.#tokens?.refreshToken !== undefined) return this.#refreshNow();
      if (this.#clientCredentials !== undefined) {
        const options = this.#clientCredentials;
        this.#setTokens(
          await this.#tokenRequest(grantParams('client_credentials', options), options.resource),
        );
        return;
      }
      throw new KeyboundError(
        'login_required',
        'no access token is held and there is no grant to renew it with',
      );
    });
    const tokens = this.#tokens;
    if (tokens === undefined) throw new KeyboundError('login_required');
    return this.#pair(tokens);
  }

  #pair(tokens: TokenSet): BoundToken {
    const key = this.#session?.key;
    return key === undefined ? { accessToken: tokens.accessToken } : { accessToken: tokens.accessToken, key };
  }

  /**
   * Moves to a new DPoP key. With a refresh token, it is presented with a proof from the new key so
   * that the new tokens are bound to it: authorization servers allow this for confidential clients;
   * for public clients RFC 9449 §5 binds the refresh token to the old key, the server refuses, and
   * this throws key_rotation_refused with the old key and tokens kept (log in again with the new key).
   * With client_credentials, a new token is requested with the new key. Otherwise the key is swapped
   * and tokens bound to the old key are forgotten. Persist the new key after this resolves.
   */
  async rotateKey(key: DpopKey): Promise<TokenSet | undefined> {
    const session = this.#session;
    if (session === undefined) throw new TypeError('this client has no DPoP key to rotate');
    while (this.#pending !== undefined) await this.#pending.catch(() => {});
    await this.#exclusive(async () => {
      if (this.#tokens?.refreshToken !== undefined) {
        try {
          await this.#refreshNow(key);
        } catch (e) {
          if (!isKeyboundError(e, 'token_request_failed')) throw e;
          throw new KeyboundError(
            'key_rotation_refused',
            'the authorization server did not re-bind the refresh token to the new key; log in again with it',
            e.detail,
            { cause: e },
          );
        }
      } else if (this.#clientCredentials !== undefined) {
        const options = this.#clientCredentials;
        const tokens = await this.#tokenRequest(
          grantParams('client_credentials', options),
          options.resource,
          key,
        );
        session.setKey(key);
        this.#setTokens(tokens);
      } else {
        session.setKey(key);
        if (this.#tokens !== undefined) this.#setTokens(undefined);
      }
    });
    return this.#tokens;
  }

  /** Forgets the tokens (the key stays). */
  forget(): void {
    this.#clientCredentials = undefined;
    this.#setTokens(undefined);
  }
}
