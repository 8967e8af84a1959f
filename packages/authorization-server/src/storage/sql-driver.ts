// The seam between the SQL storage and a database library: SQLite (better-sqlite3) and PostgreSQL
// (pg) each implement it. Statements use `?` placeholders; the PostgreSQL driver numbers them.

export type Row = Record<string, unknown>;

export interface QueryResult {
  rows: Row[];
  /** Rows inserted, updated, deleted or returned. */
  rowCount: number;
}

export interface SqlExecutor {
  query(sql: string, params?: readonly unknown[]): Promise<QueryResult>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Like transaction, but also exclusive among every process using the database (migrations). */
  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
