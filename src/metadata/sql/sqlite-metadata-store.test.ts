import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlMetadataStore } from './sql-metadata-store.js';
import { SqliteDatabase } from './sqlite-database.js';
import { metadataStoreContract } from '../metadata-store.contract.js';
import { registryPolicyStoreContract } from '../registry-policy-store.contract.js';
import { SqlSettingsStore } from './sql-settings-store.js';
import { SqlScanStore } from './sql-scan-store.js';
import { SqlGcStore } from './sql-gc-store.js';
import { sqliteStore } from '../../../test/helpers/sql-test-databases.js';

async function openStore(file: string): Promise<SqlMetadataStore> {
  const store = new SqlMetadataStore(new SqliteDatabase(file));
  await store.init();
  return store;
}

metadataStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-contract-'));
  const store = await openStore(join(dir, 'berth.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

registryPolicyStoreContract('sqlite', async () => {
  const shared = await sqliteStore();
  const db = await shared.open();
  return { meta: new SqlMetadataStore(db), settings: new SqlSettingsStore(db), gc: new SqlGcStore(db), scans: new SqlScanStore(db), cleanup: () => shared.cleanup() };
});

describe('SqlMetadataStore on SQLite specifics', () => {
  const digest = 'sha256:' + 'ab'.repeat(32);
  const manifestDigest = 'sha256:' + 'cd'.repeat(32);

  test('reopening the same file keeps the data (migrations are idempotent)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-reopen-'));
    const file = join(dir, 'nested', 'berth.db'); // the parent directory is created on open
    try {
      const first = await openStore(file);
      await first.linkBlob('library/app', digest, 77, 1000);
      const r = await first.putManifest({
        repository: 'library/app',
        digest: manifestDigest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 321,
        artifactType: null,
        subjectDigest: null,
        annotations: { a: 'b' },
        blobReferences: [digest],
        manifestReferences: [],
        tag: 'v1',
        now: 2000,
      });
      assert.deepEqual(r, { missing: [] });
      await first.createUpload({ id: 'u1', repository: 'library/app', size: 5, startedAt: 3000, updatedAt: 3001 });
      await first.close();

      for (let round = 0; round < 2; round++) {
        const again = await openStore(file);
        try {
          assert.deepEqual(await again.listRepositories({}), ['library/app']);
          assert.deepEqual(await again.getBlobLink('library/app', digest), { size: 77 });
          assert.deepEqual(await again.resolveTag('library/app', 'v1'), {
            repository: 'library/app',
            digest: manifestDigest,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            size: 321,
            artifactType: null,
            subjectDigest: null,
            annotations: { a: 'b' },
            pushedAt: 2000,
            lastPulledAt: null,
          });
          assert.deepEqual(await again.getUpload('u1'), {
            id: 'u1',
            repository: 'library/app',
            size: 5,
            startedAt: 3000,
            updatedAt: 3001,
          });
        } finally {
          await again.close();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('init twice on one store is fine and keeps the data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-init-'));
    try {
      const store = await openStore(join(dir, 'berth.db'));
      try {
        await store.linkBlob('r', digest, 1, 1);
        await store.init();
        await store.init();
        assert.deepEqual(await store.getBlobLink('r', digest), { size: 1 });
        await store.ping();
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('two stores on one file both migrate and see each other\u2019s writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-two-'));
    const file = join(dir, 'berth.db');
    try {
      const [a, b] = await Promise.all([openStore(file), openStore(file)]);
      try {
        await a.linkBlob('from-a', digest, 1, 1);
        await b.linkBlob('from-b', digest, 1, 1);
        assert.deepEqual(await a.listRepositories({}), ['from-a', 'from-b']);
        assert.deepEqual(await b.listRepositories({}), ['from-a', 'from-b']);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
