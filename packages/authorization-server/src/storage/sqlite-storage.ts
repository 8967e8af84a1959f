// SQLite storage (better-sqlite3): the embedded default, one file. better-sqlite3 is synchronous,
// so a transaction holds the connection: statements of other requests wait until it ends (they
// would otherwise run inside it). Connections to the same file in one process share that lock (a
// synchronous busy-wait on a lock held by the same thread could never end). Several processes may
// share the file (WAL, busy timeout), but several instances should use PostgreSQL.
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { QueryResult, SqlDriver, SqlExecutor } from './sql-driver.js';
import { SqlStorage } from './sql-storage.js';

export interface SqliteStorageOptions {
  /** A file path, or ':memory:' (tests). */
  path: string;
  /** How long a statement waits for another process's lock, in milliseconds (default 5000). */
  busyTimeoutMs?: number;
  now?: () => number;
}

type Statement = Database.Statement<unknown[]>;

/** The transaction lock, per database file, shared by every connection of this process. */
interface FileLock {
  busy: Promise<void> | undefined;
  users: number;
}
const fileLocks = new Map<string, FileLock>();

class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Statement>();
  readonly #lock: FileLock;
  readonly #lockKey: string | undefined;

  constructor(options: SqliteStorageOptions) {
    this.#db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    this.#lockKey = options.path === ':memory:' ? undefined : resolve(options.path);
    let lock = this.#lockKey === undefined ? undefined : fileLocks.get(this.#lockKey);
    if (lock === undefined) {
      lock = { busy: undefined, users: 0 };
      if (this.#lockKey !== undefined) fileLocks.set(this.#lockKey, lock);
    }
    lock.users++;
    this.#lock = lock;
    if (options.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
  }

  #run(sql: string, params: readonly unknown[]): QueryResult {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare<unknown[]>(sql);
      if (this.#statements.size > 500) this.#statements.clear();
      this.#statements.set(sql, stmt);
    }
    if (stmt.reader) {
      const rows = stmt.all(...(params as unknown[])) as Record<string, unknown>[];
      return { rows, rowCount: rows.length };
    }
    const info = stmt.run(...(params as unknown[]));
    return { rows: [], rowCount: info.changes };
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
    while (this.#lock.busy !== undefined) await this.#lock.busy;
    return this.#run(sql, params);
  }

  async #locked<T>(begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.#lock.busy !== undefined) await this.#lock.busy;
    let release!: () => void;
    this.#lock.busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx: SqlExecutor = { query: async (sql, params = []) => this.#run(sql, params) };
    try {
      this.#db.exec(begin);
      try {
        const result = await fn(tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.#lock.busy = undefined;
      release();
    }
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#locked('BEGIN IMMEDIATE', fn);
  }

  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#locked('BEGIN EXCLUSIVE', fn);
  }

  async close(): Promise<void> {
    while (this.#lock.busy !== undefined) await this.#lock.busy;
    if (!this.#db.open) return;
    this.#db.close();
    if (--this.#lock.users === 0 && this.#lockKey !== undefined) fileLocks.delete(this.#lockKey);
  }
}

/** SQLite storage in one file; call migrate() before use (createAuthorizationServer does). */
export function createSqliteStorage(options: SqliteStorageOptions): SqlStorage {
  return new SqlStorage(new SqliteDriver(options), options.now ? { now: options.now } : {});
}
