import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresDatabase } from '../../src/metadata/sql/postgres-database.js';
import { SqliteDatabase } from '../../src/metadata/sql/sqlite-database.js';
import type { SqlDatabase } from '../../src/metadata/sql/sql-database.js';
import { MIGRATIONS } from '../../src/metadata/migrations/index.js';

/**
 * Fresh, migrated SQL databases for unit and contract tests, the way
 * src/metadata/sql/postgres-metadata-store.test.ts makes them: PostgreSQL at
 * BERTH_TEST_POSTGRES_URL (default: local server, user postgres, trust auth)
 * gets one database per test file and a fresh schema per case; SQLite gets a
 * temporary file per case.
 */
export const POSTGRES_ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Undefined when PostgreSQL answers; otherwise the reason to skip. Throws in CI, where a silent skip would hide a broken setup. */
export async function postgresUnreachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  let reason: string | undefined;
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (e) {
    reason = `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
  if (reason && process.env.CI) throw new Error(reason);
  return reason;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A set of SQL databases sharing one store: `open()` is one more node's connection pool onto it. */
export interface SharedSqlStore {
  open(): Promise<SqlDatabase>;
  /** Closes every database opened and removes the store. */
  cleanup(): Promise<void>;
}

/**
 * PostgreSQL: a database created on first use (drop it with `dropAll` in
 * `after`), a fresh schema per `store()`. Every `open()` is its own pool, as a
 * separate process would have.
 */
export function postgresStores(poolSize = 4): { store(): Promise<SharedSqlStore>; dropAll(): Promise<void> } {
  let dbName: string | undefined;
  const dbUrl = (): string => {
    const u = new URL(POSTGRES_ADMIN_URL);
    u.pathname = `/${dbName}`;
    return u.toString();
  };
  return {
    async store() {
      if (!dbName) {
        const name = `berth_test_${randomBytes(6).toString('hex')}`;
        await withClient(POSTGRES_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name}`));
        dbName = name;
      }
      const schema = `case_${randomBytes(6).toString('hex')}`;
      await withClient(dbUrl(), (c) => c.query(`CREATE SCHEMA ${schema}`));
      const u = new URL(dbUrl());
      u.searchParams.set('options', `-c search_path=${schema}`);
      const opened: SqlDatabase[] = [];
      return {
        async open() {
          const db = new PostgresDatabase({ url: u.toString(), poolSize });
          opened.push(db);
          await db.migrate(MIGRATIONS);
          return db;
        },
        async cleanup() {
          await Promise.all(opened.map((d) => d.close()));
        },
      };
    },
    async dropAll() {
      if (dbName) await withClient(POSTGRES_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    },
  };
}

/**
 * SQLite: a temporary file. better-sqlite3 is synchronous, so two connections
 * in one process would block each other's event loop while one holds the
 * write lock; the embedded deployment is one process with one connection, so
 * every `open()` answers that same connection.
 */
export async function sqliteStore(): Promise<SharedSqlStore> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sql-test-'));
  const db = new SqliteDatabase(join(dir, 'berth.db'));
  await db.migrate(MIGRATIONS);
  return {
    async open() {
      return db;
    },
    async cleanup() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
