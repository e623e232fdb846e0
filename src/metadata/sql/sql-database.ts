/**
 * The little a SQL metadata store needs from a database connection. SQL is
 * written with `?` placeholders; a dialect translates when it must.
 */
export type SqlValue = string | number | bigint | null | Buffer;

export interface SqlExecutor {
  /** Rows of a SELECT. */
  all<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** First row of a SELECT, or undefined. */
  get<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves with the number of rows changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when
   * it throws. Other readers never see its writes before the commit. With
   * `durable: false` the commit may be lost on power failure (never on a
   * process crash) in exchange for not waiting for the disk: for bookkeeping
   * a client can redo, such as upload session rows.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** Applies a list of schema migrations (idempotent, serialised between processes). */
  migrate(migrations: Migration[]): Promise<void>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /** Default true: the commit is on disk before the promise resolves. */
  durable?: boolean;
}

export interface Migration {
  version: number;
  name: string;
  /** Statements, one per entry, already in the dialect's SQL. */
  sql: { sqlite: string[]; postgres: string[] };
}
