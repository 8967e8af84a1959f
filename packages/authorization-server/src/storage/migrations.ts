// Schema migrations, applied on start in order, each once, under an exclusive lock so that
// several instances starting together do not race. The SQL is the common subset of SQLite and
// PostgreSQL (BIGINT epoch seconds, TEXT, JSON kept as TEXT).
import type { SqlDriver } from './sql-driver.js';

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE kb_clients (
        client_id TEXT PRIMARY KEY,
        metadata TEXT NOT NULL,
        secret_hash TEXT,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE kb_grants (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT)`,
      `CREATE TABLE kb_codes (
        code_hash TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        redirect_uri TEXT,
        scope TEXT NOT NULL,
        resource TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        dpop_jkt TEXT,
        auth_time BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        consumed_at BIGINT)`,
      `CREATE TABLE kb_refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        scope TEXT NOT NULL,
        resource TEXT NOT NULL,
        jkt TEXT,
        x5t TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        consumed_at BIGINT)`,
      'CREATE INDEX kb_refresh_tokens_grant ON kb_refresh_tokens (grant_id)',
      `CREATE TABLE kb_access_tokens (
        jti TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        token_hash TEXT UNIQUE,
        claims TEXT,
        grant_id TEXT,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT)`,
      'CREATE INDEX kb_access_tokens_grant ON kb_access_tokens (grant_id)',
      `CREATE TABLE kb_pushed_requests (
        request_uri_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        request TEXT NOT NULL,
        expires_at BIGINT NOT NULL)`,
      `CREATE TABLE kb_interactions (
        id_hash TEXT PRIMARY KEY,
        browser_hash TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        client_id TEXT NOT NULL,
        request TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        expires_at BIGINT NOT NULL)`,
      `CREATE TABLE kb_initial_access_tokens (
        token_hash TEXT PRIMARY KEY,
        expires_at BIGINT,
        uses_remaining INTEGER,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE kb_signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT)`,
    ],
  },
];

/** Applies the migrations this database has not seen; returns the versions applied now. */
export async function applyMigrations(
  driver: SqlDriver,
  now: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return driver.exclusive(async (tx) => {
    await tx.query(
      'CREATE TABLE IF NOT EXISTS kb_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await tx.query('SELECT version FROM kb_schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('INSERT INTO kb_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        now,
      ]);
      applied.push(m.version);
    }
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new Error(
        `the database schema is at version ${newest}, newer than this keybound knows (${known}): upgrade keybound`,
      );
    }
    return applied;
  });
}
