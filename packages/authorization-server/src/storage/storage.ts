// The storage interface of the authorization server. Everything a second instance would need lives
// here (never in process memory): registered clients, grants, codes, refresh tokens, recorded access
// tokens, pushed requests, login interactions, initial access tokens and managed signing keys.
// Secrets are stored hashed: codes, refresh tokens, opaque access tokens, request_uri values,
// interaction ids and initial access tokens are looked up by their SHA-256 (see tokens/hash.ts).
// Times are epoch seconds.

export interface StoredClient {
  clientId: string;
  /** The client's metadata as registered (RFC 7591 names), without the secret. */
  metadata: Record<string, unknown>;
  /** SHA-256 (base64url) of the client secret, for the client_secret_* methods. */
  secretHash?: string | undefined;
  createdAt: number;
}

export interface GrantRecord {
  id: string;
  clientId: string;
  sub: string;
  createdAt: number;
  /** Absolute end of the grant: no refresh token of the family outlives it. */
  expiresAt: number;
  revokedAt?: number | undefined;
}

export interface CodeRecord {
  codeHash: string;
  grantId: string;
  clientId: string;
  sub: string;
  /** The redirect_uri the authorization request named, when it named one. */
  redirectUri?: string | undefined;
  scope: string;
  resource: string;
  codeChallenge: string;
  /** RFC 9449 §10: the code redeems only with a proof made with this key. */
  dpopJkt?: string | undefined;
  authTime: number;
  expiresAt: number;
  consumedAt?: number | undefined;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  clientId: string;
  sub: string;
  scope: string;
  resource: string;
  /** Public clients' refresh tokens are bound to the DPoP key (RFC 9449 §5) … */
  jkt?: string | undefined;
  /** … or to the client certificate (RFC 8705 §4). */
  x5t?: string | undefined;
  createdAt: number;
  expiresAt: number;
  consumedAt?: number | undefined;
}

export interface AccessTokenRecord {
  jti: string;
  clientId: string;
  /** Opaque tokens: SHA-256 of the token, and the claims introspection answers with. */
  tokenHash?: string | undefined;
  claims?: Record<string, unknown> | undefined;
  /** Tokens issued from a grant become inactive when the grant is revoked. */
  grantId?: string | undefined;
  expiresAt: number;
  revokedAt?: number | undefined;
}

export interface PushedRequestRecord {
  requestUriHash: string;
  clientId: string;
  /** The validated authorization request (see authorize/authorization-request.ts). */
  request: Record<string, unknown>;
  expiresAt: number;
}

export interface InteractionRecord {
  idHash: string;
  /** SHA-256 of the browser cookie the interaction is bound to. */
  browserHash: string;
  csrfToken: string;
  clientId: string;
  request: Record<string, unknown>;
  attempts: number;
  expiresAt: number;
}

export interface InitialAccessTokenRecord {
  tokenHash: string;
  /** null: no limit. */
  expiresAt?: number | undefined;
  usesRemaining?: number | undefined;
  createdAt: number;
}

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** The private key as a JWK (JSON text), or sealed with storage.encryption_secrets (key-sealing.ts). */
  privateJwk: string;
  createdAt: number;
  retiredAt?: number | undefined;
}

export type RotateResult = 'rotated' | 'reused';

export interface Storage {
  /** Applies pending schema migrations (idempotent; safe when several instances start at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  insertClient(client: StoredClient): Promise<void>;
  findClient(clientId: string): Promise<StoredClient | undefined>;

  insertGrant(grant: GrantRecord): Promise<void>;
  findGrant(id: string): Promise<GrantRecord | undefined>;
  /** Revokes a grant: its refresh tokens and recorded access tokens become inactive. */
  revokeGrant(id: string, at: number): Promise<void>;

  insertCode(code: CodeRecord): Promise<void>;
  findCode(codeHash: string): Promise<CodeRecord | undefined>;
  /** Marks the code used; true only for the one caller that consumed it. */
  consumeCode(codeHash: string, at: number): Promise<boolean>;

  insertRefreshToken(token: RefreshTokenRecord): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Atomically consumes `oldHash` and stores `next`: 'rotated' for exactly one of any number of
   * concurrent callers, 'reused' for the others (nothing stored for them).
   */
  rotateRefreshToken(oldHash: string, next: RefreshTokenRecord, at: number): Promise<RotateResult>;

  insertAccessToken(token: AccessTokenRecord): Promise<void>;
  findAccessTokenByJti(jti: string): Promise<AccessTokenRecord | undefined>;
  findAccessTokenByHash(tokenHash: string): Promise<AccessTokenRecord | undefined>;
  /** Records a revocation (inserting a record for tokens that were not recorded when issued). */
  revokeAccessToken(token: AccessTokenRecord, at: number): Promise<void>;

  insertPushedRequest(request: PushedRequestRecord): Promise<void>;
  /**
   * Returns and deletes the request (one-time use) when `clientId` pushed it; undefined, and the
   * request left in place, when absent or pushed by another client (so a wrong client_id cannot
   * spend another client's request_uri).
   */
  takePushedRequestForClient(
    requestUriHash: string,
    clientId: string,
  ): Promise<PushedRequestRecord | undefined>;

  insertInteraction(interaction: InteractionRecord): Promise<void>;
  findInteraction(idHash: string): Promise<InteractionRecord | undefined>;
  /** Counts a failed login; returns the new count (0 when the interaction is gone). */
  countLoginAttempt(idHash: string): Promise<number>;
  /** Deletes the interaction; true only for the one caller that deleted it. */
  finishInteraction(idHash: string): Promise<boolean>;

  insertInitialAccessToken(token: InitialAccessTokenRecord): Promise<void>;
  /** Whether the initial access token is known, unexpired and not used up (nothing is spent). */
  initialAccessTokenIsLive(tokenHash: string, now: number): Promise<boolean>;
  /** Spends one use of a live initial access token; false when unknown, expired or used up. */
  useInitialAccessToken(tokenHash: string, now: number): Promise<boolean>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Inserts a key unless one with the same kid exists. */
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  /**
   * Inserts the first current key, atomically among all instances: false (nothing inserted) when a
   * current key exists already, so instances that start together agree on one key.
   */
  insertFirstSigningKey(key: SigningKeyRecord): Promise<boolean>;
  /** Retires every current key except `keepKid`. */
  retireSigningKeys(keepKid: string, at: number): Promise<void>;
  deleteSigningKey(kid: string): Promise<void>;
  /** Replaces the stored private key of `kid` (sealed again under a newer secret); false when absent. */
  updateSigningKeyMaterial(kid: string, privateJwk: string): Promise<boolean>;

  /** Deletes what expired before `now` (minus a grace period the caller chooses). */
  deleteExpired(now: number): Promise<number>;
}
