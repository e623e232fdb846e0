import pg from 'pg';
import type { Migration, SqlDatabase, SqlExecutor, SqlValue, TransactionOptions } from './sql-database.js';

/** `?` placeholders (the house style) to PostgreSQL's `$1, $2, ...`. Our SQL has no `?` in literals. */
export function toPostgresPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Serialization failures and deadlocks are retried: the transaction saw nothing committed. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;
/** Key of the advisory lock that serialises migrations between nodes starting at once. */
const MIGRATION_LOCK = 0x62657274; // 'bert'

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async all<T>(sql: string, params: SqlValue[] = []) {
      return (await client.query(toPostgresPlaceholders(sql), params)).rows as T[];
    },
    async get<T>(sql: string, params: SqlValue[] = []) {
      return (await client.query(toPostgresPlaceholders(sql), params)).rows[0] as T | undefined;
    },
    async run(sql: string, params: SqlValue[] = []) {
      return (await client.query(toPostgresPlaceholders(sql), params)).rowCount ?? 0;
    },
  };
}

/** PostgreSQL behind SqlDatabase, with a connection pool. */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly direct: SqlExecutor;
  private readonly onError: (e: Error) => void;

  constructor(opts: { url: string; poolSize?: number; onError?: (e: Error) => void }) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.onError = (e) => opts.onError?.(e);
    this.pool.on('error', this.onError);
    this.direct = executor(this.pool);
  }

  all<T>(sql: string, params?: SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  run(sql: string, params?: SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  /**
   * Checks out a client for `fn`. A checked-out client has no pool listener: a connection lost
   * meanwhile must fail `fn` (its next query rejects), not crash the process with an unhandled
   * 'error'; such a client is discarded instead of returned to the pool.
   */
  private async withClient<T>(fn: (client: pg.PoolClient, markBroken: () => void) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    const onError = (e: Error) => {
      broken = true;
      this.onError(e);
    };
    client.on('error', onError);
    try {
      return await fn(client, () => (broken = true));
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.withClient<{ done: true; result: T } | { done: false }>(async (client, markBroken) => {
        try {
          await client.query('BEGIN');
          if (opts.durable === false) await client.query('SET LOCAL synchronous_commit = off');
          const result = await fn(executor(client));
          await client.query('COMMIT');
          return { done: true, result };
        } catch (e) {
          await client.query('ROLLBACK').catch(markBroken);
          const code = (e as { code?: string }).code;
          if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) return { done: false };
          throw e;
        }
      });
      if (outcome.done) return outcome.result;
    }
  }

  async migrate(migrations: Migration[]): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
        );
        const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
        for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
          if (applied.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            for (const s of m.sql.postgres) await client.query(s);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
              m.version,
              m.name,
              Date.now(),
            ]);
            await client.query('COMMIT');
          } catch (e) {
            await client.query('ROLLBACK');
            throw e;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
