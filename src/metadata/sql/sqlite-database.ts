import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Migration, SqlDatabase, SqlExecutor, SqlValue, TransactionOptions } from './sql-database.js';

/**
 * better-sqlite3 behind the async SqlDatabase interface. The driver is
 * synchronous and has one connection, so a transaction that awaits between
 * statements must keep other work off the connection until it ends: a
 * promise-chain lock serialises transactions, and plain reads wait for the
 * running transaction so they never see uncommitted rows.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private lock: Promise<void> = Promise.resolve();
  private inTransaction = false;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the call returns (nothing acknowledged is lost on power loss).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private readonly direct: SqlExecutor = {
    all: async <T>(sql: string, params: SqlValue[] = []) => this.stmt(sql).all(...params) as T[],
    get: async <T>(sql: string, params: SqlValue[] = []) => this.stmt(sql).get(...params) as T | undefined,
    run: async (sql: string, params: SqlValue[] = []) => this.stmt(sql).run(...params).changes,
  };

  async all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    if (this.inTransaction) await this.lock;
    return this.stmt(sql).all(...params) as T[];
  }

  async get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    if (this.inTransaction) await this.lock;
    return this.stmt(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    // A lone write outside a transaction is itself a transaction; serialise it too.
    return this.transaction((tx) => tx.run(sql, params));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const previous = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await previous;
    this.inTransaction = true;
    // In WAL mode NORMAL skips the fsync at commit; the next FULL commit syncs the WAL, earlier frames included.
    const relaxed = opts.durable === false;
    if (relaxed) this.db.pragma('synchronous = NORMAL');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    } finally {
      if (relaxed) this.db.pragma('synchronous = FULL');
      this.inTransaction = false;
      release();
    }
  }

  async migrate(migrations: Migration[]): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        for (const s of m.sql.sqlite) this.db.exec(s);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }).immediate();
    }
  }

  async close(): Promise<void> {
    await this.lock;
    this.statements.clear();
    this.db.close();
  }
}
