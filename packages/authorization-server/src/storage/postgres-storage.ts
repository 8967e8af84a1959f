// PostgreSQL storage (pg): the shared store when several instances run. Atomic operations are
// single statements or short transactions; READ COMMITTED is enough because every race is
// decided by a conditional UPDATE on one row (`… WHERE consumed_at IS NULL`), which PostgreSQL
// re-evaluates after the competing transaction commits.
import pg from 'pg';
import type { QueryResult, SqlDriver, SqlExecutor } from './sql-driver.js';
import { SqlStorage } from './sql-storage.js';

export interface PostgresStorageOptions {
  /** postgres://user@host:port/database */
  connectionString?: string;
  /** An existing pool (then close() does not end it). */
  pool?: pg.Pool;
  /** Pool size when the pool is created here (default 10). */
  max?: number;
  now?: () => number;
}

// BIGINT columns hold epoch seconds: return them as numbers, not strings (for this pool only).
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const numbered = new Map<string, string>();
function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let i = 0;
    out = sql.replace(/\?/g, () => `$${++i}`);
    if (numbered.size > 500) numbered.clear();
    numbered.set(sql, out);
  }
  return out;
}

const MIGRATION_LOCK = 0x6b620001; // "kb" + 1: the advisory lock id for migrations

class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;

  constructor(options: PostgresStorageOptions) {
    if (options.pool) {
      this.#pool = options.pool;
      this.#ownsPool = false;
    } else {
      if (!options.connectionString)
        throw new TypeError('PostgreSQL storage needs a connectionString or a pool');
      this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10, types });
      this.#ownsPool = true;
    }
    // an idle client that loses its connection must not crash the process
    this.#pool.on('error', () => {});
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
    const r = await this.#pool.query({ text: numberPlaceholders(sql), values: params as unknown[], types });
    return { rows: r.rows, rowCount: r.rowCount ?? 0 };
  }

  async #inTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>, lock: boolean): Promise<T> {
    const client = await this.#pool.connect();
    const tx: SqlExecutor = {
      query: async (sql, params = []) => {
        const r = await client.query({ text: numberPlaceholders(sql), values: params as unknown[], types });
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      },
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      if (lock) await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#inTransaction(fn, false);
  }

  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#inTransaction(fn, true);
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
}

/** PostgreSQL storage; call migrate() before use (createAuthorizationServer does). */
export function createPostgresStorage(options: PostgresStorageOptions): SqlStorage {
  return new SqlStorage(new PostgresDriver(options), options.now ? { now: options.now } : {});
}
