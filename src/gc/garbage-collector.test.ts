import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Digest } from '../oci/digest.js';
import { FilesystemDriver } from '../storage/drivers/filesystem.js';
import { BlobStore } from '../storage/blob-store.js';
import { SqlMetadataStore } from '../metadata/sql/sql-metadata-store.js';
import { SqlGcStore } from '../metadata/sql/sql-gc-store.js';
import type { SqlDatabase } from '../metadata/sql/sql-database.js';
import { BlobUploads } from '../registry/blob-uploads.js';
import { PullRecorder } from '../registry/pull-recorder.js';
import { Registry } from '../registry/registry.js';
import { GarbageCollector } from './garbage-collector.js';
import { postgresStores, postgresUnreachable, sqliteStore, type SharedSqlStore } from '../../test/helpers/sql-test-databases.js';

/**
 * Garbage collection over the real use cases (uploads, manifests, deletes) on
 * SQLite and PostgreSQL with blobs on the filesystem, with a clock the tests
 * move. Expected counts and bytes come from the test's own blobs.
 */
const GRACE_MS = 60_000;
const T0 = 1_800_000_000_000;

interface World {
  registry: Registry;
  gc: GarbageCollector;
  gcStore: SqlGcStore;
  meta: SqlMetadataStore;
  blobs: BlobStore;
  clock: { t: number };
  /** A second connection pool on the same database: another node. */
  otherMeta: SqlMetadataStore;
  cleanup(): Promise<void>;
}

interface TestBlob {
  bytes: Buffer;
  digest: string;
}

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const mk = (text: string): TestBlob => {
  const bytes = Buffer.from(text);
  return { bytes, digest: sha(bytes) };
};

function manifestOf(config: TestBlob, layers: TestBlob[], subject?: { digest: string; size: number }): TestBlob {
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.bytes.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.bytes.length })),
  };
  if (subject) m.subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...subject };
  return mk(JSON.stringify(m));
}

async function upload(w: World, repo: string, b: TestBlob): Promise<void> {
  const u = await w.registry.uploads.start(repo);
  await w.registry.uploads.finish(repo, u.id, b.digest, Readable.from([b.bytes]), {});
}

async function pushImage(w: World, repo: string, tag: string | null, config: TestBlob, layers: TestBlob[], subject?: TestBlob): Promise<TestBlob> {
  for (const b of [config, ...layers]) await upload(w, repo, b);
  const m = manifestOf(config, layers, subject ? { digest: subject.digest, size: subject.bytes.length } : undefined);
  const ref = tag === null ? { digest: Digest.parse(m.digest) } : { tag };
  await w.registry.putManifest(repo, ref, m.bytes, 'application/vnd.oci.image.manifest.v1+json');
  return m;
}

const stored = async (w: World, b: TestBlob) => (await w.blobs.stat(Digest.parse(b.digest))) !== undefined;

async function makeWorld(shared: SharedSqlStore): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gc-test-'));
  const driver = new FilesystemDriver(dir);
  await driver.init();
  const blobs = new BlobStore(driver);
  const db: SqlDatabase = await shared.open();
  const meta = new SqlMetadataStore(db);
  const otherMeta = new SqlMetadataStore(await shared.open());
  const clock = { t: T0 };
  const now = () => clock.t;
  const uploads = new BlobUploads(blobs, meta, now);
  const pulls = new PullRecorder(meta, 60_000, () => undefined);
  const registry = new Registry(blobs, meta, uploads, pulls, { deleteEnabled: true, maxManifestBytes: 4 << 20, now });
  const gcStore = new SqlGcStore(db);
  const gc = new GarbageCollector(gcStore, blobs, { graceMs: GRACE_MS, now, batchSize: 3 });
  return {
    registry,
    gc,
    gcStore,
    meta,
    otherMeta,
    blobs,
    clock,
    async cleanup() {
      await shared.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function gcSuite(name: string, open: () => Promise<SharedSqlStore>, skip?: string): void {
  describe(`garbage collection on ${name}`, { skip }, () => {
    const withWorld = (title: string, fn: (w: World) => Promise<void>) =>
      test(title, { timeout: 60_000 }, async () => {
        const w = await makeWorld(await open());
        try {
          await fn(w);
        } finally {
          await w.cleanup();
        }
      });

    withWorld('reclaims what a deleted manifest alone used and keeps what a remaining manifest uses', async (w) => {
      const shared = mk('shared layer');
      const [onlyA, configA] = [mk('layer only in A'), mk('{"config":"A"}')];
      const [onlyB, configB] = [mk('layer only in B'), mk('{"config":"B"}')];
      const a = await pushImage(w, 'team/app', 'a', configA, [onlyA, shared]);
      const b = await pushImage(w, 'team/app', 'b', configB, [shared, onlyB]);
      await w.registry.deleteManifest('team/app', { digest: Digest.parse(a.digest) });
      w.clock.t += GRACE_MS + 1;

      const dry = await w.gc.run({ dryRun: true });
      const expectedBytes = onlyA.bytes.length + configA.bytes.length + a.bytes.length;
      assert.deepEqual(
        { links: dry.linksRemoved, blobs: dry.blobsDeleted, bytes: dry.bytesReclaimed },
        { links: 2, blobs: 3, bytes: expectedBytes },
      );
      for (const x of [a, onlyA, configA]) assert.equal(await stored(w, x), true, 'a dry run deletes nothing');

      const real = await w.gc.run();
      assert.deepEqual(
        { links: real.linksRemoved, blobs: real.blobsDeleted, bytes: real.bytesReclaimed, orphans: real.orphanObjectsDeleted },
        { links: 2, blobs: 3, bytes: expectedBytes, orphans: 0 },
      );
      for (const x of [a, onlyA, configA]) assert.equal(await stored(w, x), false, `${x.digest} reclaimed`);
      for (const x of [b, shared, onlyB, configB]) assert.equal(await stored(w, x), true, `${x.digest} kept`);
      const got = await w.registry.getManifest('team/app', { tag: 'b' }, false);
      assert.equal(sha(got.bytes), b.digest);
      for (const x of [shared, onlyB, configB]) await w.registry.statBlob('team/app', Digest.parse(x.digest));

      const again = await w.gc.run();
      assert.equal(again.blobsDeleted + again.linksRemoved + again.orphanObjectsDeleted, 0, 'a second run finds nothing');
    });

    withWorld('never collects a blob uploaded or mounted within the grace period', async (w) => {
      const layer = mk('uploaded, manifest not pushed yet');
      await upload(w, 'team/slow', layer);
      w.clock.t += GRACE_MS - 1;
      const early = await w.gc.run();
      assert.equal(early.blobsDeleted + early.linksRemoved, 0);
      assert.equal(await stored(w, layer), true);
      // A mount now restarts the grace period for the blob in the new repository.
      assert.equal(await w.registry.mountBlob('team/other', Digest.parse(layer.digest), 'team/slow'), true);
      w.clock.t += 2;
      const mid = await w.gc.run();
      assert.equal(mid.linksRemoved, 1, 'the old link in team/slow goes');
      assert.equal(mid.blobsDeleted, 0, 'the fresh mount keeps the blob');
      assert.equal(await stored(w, layer), true);
      w.clock.t += GRACE_MS;
      const late = await w.gc.run();
      assert.deepEqual([late.linksRemoved, late.blobsDeleted, late.bytesReclaimed], [1, 1, layer.bytes.length]);
      assert.equal(await stored(w, layer), false);
    });

    withWorld('removes objects in storage that no blob row describes, and only those', async (w) => {
      const kept = mk('a real blob');
      await upload(w, 'team/app', kept);
      const stray = mk('bytes a crashed writer left behind');
      await w.blobs.putVerified(Digest.parse(stray.digest), stray.bytes);
      const r = await w.gc.run();
      assert.equal(r.orphanObjectsDeleted, 1);
      assert.equal(await stored(w, stray), false);
      assert.equal(await stored(w, kept), true);
    });

    withWorld('deletes untagged referrers whose subject is gone, after the grace period', async (w) => {
      const subject = await pushImage(w, 'team/app', 'v1', mk('{"s":1}'), [mk('subject layer')]);
      const sigConfig = mk('{"sig":1}');
      const sig = await pushImage(w, 'team/app', null, sigConfig, [mk('signature payload')], subject);
      const taggedRef = await pushImage(w, 'team/app', 'keep-me', mk('{"sbom":1}'), [mk('sbom')], subject);
      await w.registry.deleteManifest('team/app', { digest: Digest.parse(subject.digest) });
      const early = await w.gc.run();
      assert.equal(early.referrersDeleted, 0, 'within the grace period a referrer may still await its subject');
      w.clock.t += GRACE_MS + 1;
      const r = await w.gc.run();
      assert.equal(r.referrersDeleted, 1);
      await assert.rejects(w.registry.getManifest('team/app', { digest: Digest.parse(sig.digest) }, false), /manifest unknown/);
      assert.equal(await stored(w, sigConfig), false, "the referrer's own blobs go with it");
      const tagged = await w.registry.getManifest('team/app', { tag: 'keep-me' }, false);
      assert.equal(sha(tagged.bytes), taggedRef.digest, 'a tagged referrer is kept');
    });

    withWorld('deletes cosign tag-scheme signatures (sha256-<hex>.sig/.att) of a deleted image, after the grace period', async (w) => {
      const image = await pushImage(w, 'team/app', 'v1', mk('{"img":1}'), [mk('image layer')]);
      const other = await pushImage(w, 'team/app', 'v2', mk('{"img":2}'), [mk('image layer 2')]);
      // The tags cosign 1-2 write (SIGNATURE_SPEC.md): sha256:<hex> -> sha256-<hex>.sig, .att.
      const tagFor = (digest: string, kind: string): string => `${digest.replace(':', '-')}.${kind}`;
      const sigPayload = mk('simple signing payload of v1');
      const sig = await pushImage(w, 'team/app', tagFor(image.digest, 'sig'), mk('{"sig":1}'), [sigPayload]);
      await w.registry.putManifest('team/app', { tag: tagFor(image.digest, 'att') }, sig.bytes, 'application/vnd.oci.image.manifest.v1+json');
      const otherSig = await pushImage(w, 'team/app', tagFor(other.digest, 'sig'), mk('{"sig":2}'), [mk('payload of v2')]);
      await w.registry.deleteManifest('team/app', { digest: Digest.parse(image.digest) });
      assert.equal((await w.gc.run()).referrersDeleted, 0, 'within the grace period');
      w.clock.t += GRACE_MS + 1;
      const r = await w.gc.run();
      assert.equal(r.referrersDeleted, 2, 'both tags of the deleted image');
      await assert.rejects(w.registry.getManifest('team/app', { digest: Digest.parse(sig.digest) }, false), /manifest unknown/);
      assert.equal(await stored(w, sigPayload), false, "the signature's blobs go with it");
      const kept = await w.registry.getManifest('team/app', { tag: tagFor(other.digest, 'sig') }, false);
      assert.equal(sha(kept.bytes), otherSig.digest, 'the signature of an image still present stays');
    });

    withWorld('a writer claiming a blob while GC deletes it waits, then records it anew', async (w) => {
      const b = mk('blob being collected while re-uploaded');
      await w.meta.claimBlob(b.digest, b.bytes.length, T0);
      await w.blobs.putVerified(Digest.parse(b.digest), b.bytes);
      w.clock.t += GRACE_MS + 1;
      let claimed = false;
      let claim: Promise<void> | undefined;
      const swept = await w.gcStore.sweepBlobs([b.digest], w.clock.t - GRACE_MS, async () => {
        // Another node claims the blob while this transaction holds its row.
        claim = w.otherMeta.claimBlob(b.digest, b.bytes.length, w.clock.t).then(() => {
          claimed = true;
        });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(claimed, false, 'the claim waits for the sweep to commit');
        await w.blobs.deleteBlob(Digest.parse(b.digest));
      });
      assert.deepEqual(swept.map((s) => s.digest), [b.digest]);
      await claim;
      assert.equal(claimed, true);
      // The claim is fresh, so the next run leaves the blob alone (its writer is about to store the bytes).
      assert.deepEqual(await w.gcStore.unreferencedBlobs(w.clock.t - GRACE_MS, 10, {}), []);
    });

    withWorld('a sweep re-checks under the lock and skips a blob referenced since it was listed', async (w) => {
      const layer = mk('listed as garbage, then used');
      await upload(w, 'team/app', layer);
      w.clock.t += GRACE_MS + 1;
      const cutoff = w.clock.t - GRACE_MS;
      const links = await w.gcStore.unreferencedLinks(cutoff, 10);
      assert.deepEqual(links, [{ repository: 'team/app', digest: layer.digest }]);
      // A manifest referencing the layer lands between listing and removal.
      await pushImage(w, 'team/app', 'now-used', mk('{"c":2}'), [layer]);
      assert.equal(await w.gcStore.removeUnreferencedLinks(links, cutoff), 0);
      assert.deepEqual(await w.gcStore.sweepBlobs([layer.digest], cutoff, async () => assert.fail('must not delete')), []);
      await w.registry.statBlob('team/app', Digest.parse(layer.digest));
    });
  });
}

gcSuite('SQLite', sqliteStore);
const pgReason = await postgresUnreachable();
const pgStores = postgresStores(4);
gcSuite('PostgreSQL', () => pgStores.store(), pgReason);
after(async () => {
  if (!pgReason) await pgStores.dropAll();
});
