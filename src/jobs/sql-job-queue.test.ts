import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlJobQueue } from './sql-job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';
import { postgresStores, postgresUnreachable, sqliteStore, type SharedSqlStore } from '../../test/helpers/sql-test-databases.js';

/** The JobQueue contract on SQLite (a temporary file) and on a real PostgreSQL server. */
async function fixture(store: SharedSqlStore) {
  return {
    queue: new SqlJobQueue(await store.open()),
    node: async () => new SqlJobQueue(await store.open()),
    cleanup: () => store.cleanup(),
  };
}

jobQueueContract('sqlite', async () => fixture(await sqliteStore()));

const unreachable = await postgresUnreachable();
if (unreachable) {
  test('JobQueue contract: postgres', { skip: unreachable }, () => {});
} else {
  const pgStores = postgresStores();
  after(() => pgStores.dropAll());
  jobQueueContract('postgres', async () => fixture(await pgStores.store()));

  describe('SqlJobQueue on PostgreSQL specifics', () => {
    test('claimers on separate pools wait for nobody: a row locked by one claim is skipped, not waited on', async () => {
      const store = await pgStores.store();
      try {
        const a = await store.open();
        const b = new SqlJobQueue(await store.open());
        const q = new SqlJobQueue(a);
        const first = await q.enqueue({ kind: 'k' }, 1000);
        const second = await q.enqueue({ kind: 'k' }, 1001);
        // Hold the first job's row lock in an open transaction, as a claim in progress does.
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => (locked = r));
        const holder = a.transaction(async (tx) => {
          await tx.get('SELECT id FROM jobs WHERE id = ? FOR UPDATE', [first.id]);
          locked();
          await held;
        });
        await isLocked;
        try {
          const got = await b.claim('b', ['k'], 1000, 5000);
          assert.equal(got?.lease.id, second.id, 'the locked row is skipped');
        } finally {
          release();
          await holder;
        }
        const next = await b.claim('b', ['k'], 1000, 5000);
        assert.equal(next?.lease.id, first.id, 'and taken once the lock is gone');
      } finally {
        await store.cleanup();
      }
    });
  });
}
