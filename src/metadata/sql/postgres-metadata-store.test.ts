import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SqlMetadataStore } from './sql-metadata-store.js';
import { PostgresDatabase, toPostgresPlaceholders } from './postgres-database.js';
import { metadataStoreContract } from '../metadata-store.contract.js';
import { registryPolicyStoreContract } from '../registry-policy-store.contract.js';
import { SqlSettingsStore } from './sql-settings-store.js';
import { SqlScanStore } from './sql-scan-store.js';
import { SqlGcStore } from './sql-gc-store.js';
import { postgresStores } from '../../../test/helpers/sql-test-databases.js';

/**
 * The metadata contract on a real PostgreSQL server. Each case gets a fresh
 * database, dropped afterwards. BERTH_TEST_POSTGRES_URL names the server's
 * admin connection (default: the local server, user postgres, trust auth).
 */
const ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL not reachable at ${ADMIN_URL}: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const unreachable = await reachable();
// In CI PostgreSQL must be there: a silent skip would hide a broken setup.
if (unreachable && process.env.CI) throw new Error(unreachable);

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function freshDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `berth_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: dbUrl(name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

if (unreachable) {
  test('PostgreSQL metadata contract', { skip: unreachable }, () => {});
} else {
  // One database for the contract, a fresh schema per case (much cheaper than a database per case).
  let contractDb: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  after(async () => {
    await contractDb?.drop();
  });
  metadataStoreContract('postgres', async () => {
    contractDb ??= await freshDatabase();
    const schema = `case_${randomBytes(6).toString('hex')}`;
    const u = new URL(contractDb.url);
    await admin(async () => {
      const c = new pg.Client({ connectionString: contractDb!.url });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`).finally(() => c.end());
    });
    u.searchParams.set('options', `-c search_path=${schema}`);
    const store = new SqlMetadataStore(new PostgresDatabase({ url: u.toString(), poolSize: 4 }));
    await store.init();
    return {
      store,
      cleanup: async () => {
        await store.close();
      },
    };
  });

  const policyDbs = postgresStores(4);
  after(() => policyDbs.dropAll());
  registryPolicyStoreContract('postgres', async () => {
    const shared = await policyDbs.store();
    const db = await shared.open();
    return { meta: new SqlMetadataStore(db), settings: new SqlSettingsStore(db), gc: new SqlGcStore(db), scans: new SqlScanStore(db), cleanup: () => shared.cleanup() };
  });

  describe('PostgresDatabase specifics', () => {
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    before(async () => {
      db = await freshDatabase();
    });
    after(async () => {
      await db.drop();
    });

    test('placeholders are numbered in order', () => {
      assert.equal(toPostgresPlaceholders('SELECT ? WHERE a = ? AND b > ?'), 'SELECT $1 WHERE a = $2 AND b > $3');
    });

    test('nodes migrating at once apply each migration exactly once (advisory lock)', async () => {
      const stores = Array.from({ length: 4 }, () => new SqlMetadataStore(new PostgresDatabase({ url: db.url, poolSize: 2 })));
      try {
        await Promise.all(stores.map((s) => s.init()));
        const rows = await admin(async () => {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          try {
            return (await c.query('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version')).rows;
          } finally {
            await c.end();
          }
        });
        assert.ok(rows.length >= 1);
        for (const r of rows) assert.equal(r.n, 1, `migration ${r.version} applied once`);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    test('repository and tag names sort by bytes, as on SQLite', async () => {
      const store = new SqlMetadataStore(new PostgresDatabase({ url: db.url, poolSize: 2 }));
      await store.init();
      try {
        // Byte order puts '-' (0x2d) before '.' (0x2e) before digits before '_' (0x5f) before letters.
        for (const n of ['b/x', 'a_b', 'a-b', 'a.b', 'a9']) await store.linkBlob(n, 'sha256:' + 'a'.repeat(64), 1, 1);
        assert.deepEqual(await store.listRepositories({}), ['a-b', 'a.b', 'a9', 'a_b', 'b/x']);
      } finally {
        await store.close();
      }
    });
  });
}
