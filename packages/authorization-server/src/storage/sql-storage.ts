// The Storage interface over SQL, shared by the SQLite and PostgreSQL drivers: one set of
// statements, so that both pass the same test suite by construction and by test.
import { applyMigrations } from './migrations.js';
import type { Row, SqlDriver } from './sql-driver.js';
import type {
  AccessTokenRecord,
  CodeRecord,
  GrantRecord,
  InitialAccessTokenRecord,
  InteractionRecord,
  PushedRequestRecord,
  RefreshTokenRecord,
  RotateResult,
  SigningKeyRecord,
  Storage,
  StoredClient,
} from './storage.js';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : num(v));
const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
const json = (v: unknown): Record<string, unknown> => JSON.parse(String(v)) as Record<string, unknown>;
const orNull = (v: unknown): unknown => (v === undefined ? null : v);

function toClient(r: Row): StoredClient {
  return {
    clientId: String(r.client_id),
    metadata: json(r.metadata),
    secretHash: optStr(r.secret_hash),
    createdAt: num(r.created_at),
  };
}

function toGrant(r: Row): GrantRecord {
  return {
    id: String(r.id),
    clientId: String(r.client_id),
    sub: String(r.sub),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: optNum(r.revoked_at),
  };
}

function toCode(r: Row): CodeRecord {
  return {
    codeHash: String(r.code_hash),
    grantId: String(r.grant_id),
    clientId: String(r.client_id),
    sub: String(r.sub),
    redirectUri: optStr(r.redirect_uri),
    scope: String(r.scope),
    resource: String(r.resource),
    codeChallenge: String(r.code_challenge),
    dpopJkt: optStr(r.dpop_jkt),
    authTime: num(r.auth_time),
    expiresAt: num(r.expires_at),
    consumedAt: optNum(r.consumed_at),
  };
}

function toRefreshToken(r: Row): RefreshTokenRecord {
  return {
    tokenHash: String(r.token_hash),
    grantId: String(r.grant_id),
    clientId: String(r.client_id),
    sub: String(r.sub),
    scope: String(r.scope),
    resource: String(r.resource),
    jkt: optStr(r.jkt),
    x5t: optStr(r.x5t),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    consumedAt: optNum(r.consumed_at),
  };
}

function toAccessToken(r: Row): AccessTokenRecord {
  return {
    jti: String(r.jti),
    clientId: String(r.client_id),
    tokenHash: optStr(r.token_hash),
    claims: r.claims === null || r.claims === undefined ? undefined : json(r.claims),
    grantId: optStr(r.grant_id),
    expiresAt: num(r.expires_at),
    revokedAt: optNum(r.revoked_at),
  };
}

function toInteraction(r: Row): InteractionRecord {
  return {
    idHash: String(r.id_hash),
    browserHash: String(r.browser_hash),
    csrfToken: String(r.csrf_token),
    clientId: String(r.client_id),
    request: json(r.request),
    attempts: num(r.attempts),
    expiresAt: num(r.expires_at),
  };
}

export class SqlStorage implements Storage {
  readonly driver: SqlDriver;
  readonly #now: () => number;

  constructor(driver: SqlDriver, options: { now?: () => number } = {}) {
    this.driver = driver;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.driver, this.#now());
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  async #one(sql: string, params: readonly unknown[]): Promise<Row | undefined> {
    const { rows } = await this.driver.query(sql, params);
    return rows[0];
  }

  async insertClient(c: StoredClient): Promise<void> {
    await this.driver.query(
      'INSERT INTO kb_clients (client_id, metadata, secret_hash, created_at) VALUES (?, ?, ?, ?)',
      [c.clientId, JSON.stringify(c.metadata), orNull(c.secretHash), c.createdAt],
    );
  }

  async findClient(clientId: string): Promise<StoredClient | undefined> {
    const r = await this.#one('SELECT * FROM kb_clients WHERE client_id = ?', [clientId]);
    return r && toClient(r);
  }

  async insertGrant(g: GrantRecord): Promise<void> {
    await this.driver.query(
      'INSERT INTO kb_grants (id, client_id, sub, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
      [g.id, g.clientId, g.sub, g.createdAt, g.expiresAt, orNull(g.revokedAt)],
    );
  }

  async findGrant(id: string): Promise<GrantRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_grants WHERE id = ?', [id]);
    return r && toGrant(r);
  }

  async revokeGrant(id: string, at: number): Promise<void> {
    await this.driver.query('UPDATE kb_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
      at,
      id,
    ]);
  }

  async insertCode(c: CodeRecord): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_codes (code_hash, grant_id, client_id, sub, redirect_uri, scope, resource, code_challenge,
        dpop_jkt, auth_time, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        c.codeHash,
        c.grantId,
        c.clientId,
        c.sub,
        orNull(c.redirectUri),
        c.scope,
        c.resource,
        c.codeChallenge,
        orNull(c.dpopJkt),
        c.authTime,
        c.expiresAt,
        orNull(c.consumedAt),
      ],
    );
  }

  async findCode(codeHash: string): Promise<CodeRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_codes WHERE code_hash = ?', [codeHash]);
    return r && toCode(r);
  }

  async consumeCode(codeHash: string, at: number): Promise<boolean> {
    const { rowCount } = await this.driver.query(
      'UPDATE kb_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL',
      [at, codeHash],
    );
    return rowCount === 1;
  }

  async insertRefreshToken(t: RefreshTokenRecord): Promise<void> {
    await insertRefresh(this.driver, t);
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_refresh_tokens WHERE token_hash = ?', [tokenHash]);
    return r && toRefreshToken(r);
  }

  rotateRefreshToken(oldHash: string, next: RefreshTokenRecord, at: number): Promise<RotateResult> {
    return this.driver.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        'UPDATE kb_refresh_tokens SET consumed_at = ? WHERE token_hash = ? AND consumed_at IS NULL',
        [at, oldHash],
      );
      if (rowCount !== 1) return 'reused';
      await insertRefresh(tx, next);
      return 'rotated';
    });
  }

  async insertAccessToken(t: AccessTokenRecord): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_access_tokens (jti, client_id, token_hash, claims, grant_id, expires_at, revoked_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        t.jti,
        t.clientId,
        orNull(t.tokenHash),
        t.claims === undefined ? null : JSON.stringify(t.claims),
        orNull(t.grantId),
        t.expiresAt,
        orNull(t.revokedAt),
      ],
    );
  }

  async findAccessTokenByJti(jti: string): Promise<AccessTokenRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_access_tokens WHERE jti = ?', [jti]);
    return r && toAccessToken(r);
  }

  async findAccessTokenByHash(tokenHash: string): Promise<AccessTokenRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_access_tokens WHERE token_hash = ?', [tokenHash]);
    return r && toAccessToken(r);
  }

  async revokeAccessToken(t: AccessTokenRecord, at: number): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_access_tokens (jti, client_id, token_hash, claims, grant_id, expires_at, revoked_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (jti) DO UPDATE SET revoked_at = COALESCE(kb_access_tokens.revoked_at, excluded.revoked_at)`,
      [
        t.jti,
        t.clientId,
        orNull(t.tokenHash),
        t.claims === undefined ? null : JSON.stringify(t.claims),
        orNull(t.grantId),
        t.expiresAt,
        at,
      ],
    );
  }

  async insertPushedRequest(p: PushedRequestRecord): Promise<void> {
    await this.driver.query(
      'INSERT INTO kb_pushed_requests (request_uri_hash, client_id, request, expires_at) VALUES (?, ?, ?, ?)',
      [p.requestUriHash, p.clientId, JSON.stringify(p.request), p.expiresAt],
    );
  }

  async takePushedRequestForClient(
    requestUriHash: string,
    clientId: string,
  ): Promise<PushedRequestRecord | undefined> {
    const r = await this.#one(
      'DELETE FROM kb_pushed_requests WHERE request_uri_hash = ? AND client_id = ? RETURNING *',
      [requestUriHash, clientId],
    );
    return (
      r && {
        requestUriHash: String(r.request_uri_hash),
        clientId: String(r.client_id),
        request: json(r.request),
        expiresAt: num(r.expires_at),
      }
    );
  }

  async insertInteraction(i: InteractionRecord): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_interactions (id_hash, browser_hash, csrf_token, client_id, request, attempts, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [i.idHash, i.browserHash, i.csrfToken, i.clientId, JSON.stringify(i.request), i.attempts, i.expiresAt],
    );
  }

  async findInteraction(idHash: string): Promise<InteractionRecord | undefined> {
    const r = await this.#one('SELECT * FROM kb_interactions WHERE id_hash = ?', [idHash]);
    return r && toInteraction(r);
  }

  async countLoginAttempt(idHash: string): Promise<number> {
    const r = await this.#one(
      'UPDATE kb_interactions SET attempts = attempts + 1 WHERE id_hash = ? RETURNING attempts',
      [idHash],
    );
    return r ? num(r.attempts) : 0;
  }

  async finishInteraction(idHash: string): Promise<boolean> {
    const { rowCount } = await this.driver.query('DELETE FROM kb_interactions WHERE id_hash = ?', [idHash]);
    return rowCount === 1;
  }

  async insertInitialAccessToken(t: InitialAccessTokenRecord): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_initial_access_tokens (token_hash, expires_at, uses_remaining, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (token_hash) DO NOTHING`,
      [t.tokenHash, orNull(t.expiresAt), orNull(t.usesRemaining), t.createdAt],
    );
  }

  async initialAccessTokenIsLive(tokenHash: string, now: number): Promise<boolean> {
    const r = await this.#one(
      `SELECT token_hash FROM kb_initial_access_tokens
        WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?) AND (uses_remaining IS NULL OR uses_remaining > 0)`,
      [tokenHash, now],
    );
    return r !== undefined;
  }

  async useInitialAccessToken(tokenHash: string, now: number): Promise<boolean> {
    const { rowCount } = await this.driver.query(
      `UPDATE kb_initial_access_tokens
        SET uses_remaining = CASE WHEN uses_remaining IS NULL THEN NULL ELSE uses_remaining - 1 END
        WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?) AND (uses_remaining IS NULL OR uses_remaining > 0)`,
      [tokenHash, now],
    );
    return rowCount === 1;
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const { rows } = await this.driver.query('SELECT * FROM kb_signing_keys ORDER BY created_at, kid');
    return rows.map((r) => ({
      kid: String(r.kid),
      alg: String(r.alg),
      privateJwk: String(r.private_jwk),
      createdAt: num(r.created_at),
      retiredAt: optNum(r.retired_at),
    }));
  }

  async insertSigningKey(k: SigningKeyRecord): Promise<void> {
    await this.driver.query(
      `INSERT INTO kb_signing_keys (kid, alg, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (kid) DO NOTHING`,
      [k.kid, k.alg, k.privateJwk, k.createdAt, orNull(k.retiredAt)],
    );
  }

  async insertFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    // exclusive among every instance: two that start together must not each create a current key
    return this.driver.exclusive(async (tx) => {
      const { rows } = await tx.query('SELECT kid FROM kb_signing_keys WHERE retired_at IS NULL LIMIT 1', []);
      if (rows.length > 0) return false;
      await tx.query(
        'INSERT INTO kb_signing_keys (kid, alg, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?)',
        [k.kid, k.alg, k.privateJwk, k.createdAt, orNull(k.retiredAt)],
      );
      return true;
    });
  }

  async retireSigningKeys(keepKid: string, at: number): Promise<void> {
    await this.driver.query(
      'UPDATE kb_signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL',
      [at, keepKid],
    );
  }

  async deleteSigningKey(kid: string): Promise<void> {
    await this.driver.query('DELETE FROM kb_signing_keys WHERE kid = ?', [kid]);
  }

  async updateSigningKeyMaterial(kid: string, privateJwk: string): Promise<boolean> {
    const { rowCount } = await this.driver.query('UPDATE kb_signing_keys SET private_jwk = ? WHERE kid = ?', [
      privateJwk,
      kid,
    ]);
    return rowCount === 1;
  }

  async deleteExpired(now: number): Promise<number> {
    return this.driver.transaction(async (tx) => {
      let n = 0;
      for (const sql of [
        'DELETE FROM kb_codes WHERE expires_at < ?',
        'DELETE FROM kb_refresh_tokens WHERE expires_at < ?',
        'DELETE FROM kb_access_tokens WHERE expires_at < ?',
        'DELETE FROM kb_grants WHERE expires_at < ?',
        'DELETE FROM kb_pushed_requests WHERE expires_at < ?',
        'DELETE FROM kb_interactions WHERE expires_at < ?',
        'DELETE FROM kb_initial_access_tokens WHERE expires_at IS NOT NULL AND expires_at < ?',
      ]) {
        n += (await tx.query(sql, [now])).rowCount;
      }
      return n;
    });
  }
}

function insertRefresh(db: { query: SqlDriver['query'] }, t: RefreshTokenRecord) {
  return db.query(
    `INSERT INTO kb_refresh_tokens (token_hash, grant_id, client_id, sub, scope, resource, jkt, x5t, created_at,
      expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      t.tokenHash,
      t.grantId,
      t.clientId,
      t.sub,
      t.scope,
      t.resource,
      orNull(t.jkt),
      orNull(t.x5t),
      t.createdAt,
      t.expiresAt,
      orNull(t.consumedAt),
    ],
  );
}
