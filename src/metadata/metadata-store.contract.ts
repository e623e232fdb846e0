import { describe } from 'node:test';
import { contractCases } from '../../test/helpers/contract-case.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ManifestRecord, MetadataStore, NewManifest, Page } from './metadata-store.js';

/**
 * The contract every MetadataStore implementation must keep, as the comments
 * in metadata-store.ts promise. An implementation's test file calls
 * `metadataStoreContract('sqlite', make)`; `make` returns a fresh, empty,
 * migrated store and a cleanup that closes it and removes what it made.
 *
 * `options.skip` maps a case title to the reason it cannot run against this
 * implementation (node:test prints the reason).
 */
export interface MetadataStoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
}

export interface MetadataStoreContractOptions {
  skip?: Record<string, string>;
}

const CASE_TIMEOUT_MS = 60_000;
/** Milliseconds since the epoch; every time in the suite is T0 + something. */
const T0 = 1_700_000_000_000;

export function metadataStoreContract(
  name: string,
  make: () => Promise<MetadataStoreFixture>,
  options: MetadataStoreContractOptions = {},
): void {
  const cases = contractCases(make, options.skip, CASE_TIMEOUT_MS);
  const contractCase = (title: string, fn: (s: MetadataStore) => Promise<void>): void => cases(title, (fx) => fn(fx.store));

  describe(`MetadataStore contract: ${name}`, () => {
    // --- repositories -----------------------------------------------------------

    contractCase('a repository appears on its first blob link', async (s) => {
      assert.equal(await s.repositoryExists('library/alpine'), false);
      assert.deepEqual(await s.listRepositories({}), []);
      await s.linkBlob('library/alpine', dg('layer'), 10, T0);
      assert.equal(await s.repositoryExists('library/alpine'), true);
      assert.deepEqual(await s.listRepositories({}), ['library/alpine']);
      assert.equal(await s.repositoryExists('library'), false, 'a path prefix is not a repository');
      assert.equal(await s.repositoryExists('library/alpine2'), false);
    });

    contractCase('listRepositories is in lexical (byte) order and pages with n and last', async (s) => {
      const names = ['b', 'a/z', 'a', 'a-b', 'a.b', 'a_b', '0', 'zz/top', 'a/b/c', 'ab', 'b9', 'b10'];
      for (const [i, n] of names.entries()) await s.linkBlob(n, dg(`blob-${n}`), i + 1, T0 + i);
      const all = byteSorted(names);
      assert.deepEqual(await s.listRepositories({}), all);
      for (const n of [1, 2, 5, names.length, names.length + 3]) {
        assert.deepEqual(await pageAll((p) => s.listRepositories(p), n), all, `pages of ${n}`);
        assert.deepEqual(await s.listRepositories({ n }), all.slice(0, n), `first page of ${n}`);
      }
      assert.deepEqual(await s.listRepositories({ last: 'a' }), all.slice(all.indexOf('a') + 1));
      assert.deepEqual(await s.listRepositories({ last: 'a/b', n: 2 }), ['a/b/c', 'a/z']);
      assert.deepEqual(await s.listRepositories({ last: all[all.length - 1] }), []);
      assert.deepEqual(await s.listRepositories({ last: 'zzz' }), []);
    });

    contractCase('concurrent first links of one repository and blob all succeed and create one of each', async (s) => {
      await Promise.all(Array.from({ length: 25 }, (_, i) => s.linkBlob('race/repo', dg('race-blob'), 42, T0 + i)));
      assert.deepEqual(await s.listRepositories({}), ['race/repo']);
      assert.deepEqual(await s.getBlobLink('race/repo', dg('race-blob')), { size: 42 });
    });

    // --- blob links ---------------------------------------------------------------

    contractCase('linkBlob is idempotent and getBlobLink reports the size', async (s) => {
      await s.linkBlob('r', dg('x'), 1234, T0);
      await s.linkBlob('r', dg('x'), 1234, T0 + 1);
      await s.linkBlob('r', dg('x'), 1234, T0 + 2);
      assert.deepEqual(await s.getBlobLink('r', dg('x')), { size: 1234 });
      assert.deepEqual(await s.listRepositories({}), ['r']);
      assert.equal(await s.getBlobLink('r', dg('y')), undefined);
    });

    contractCase('blob sizes above 4 GiB round-trip exactly', async (s) => {
      const big = 5 * 1024 * 1024 * 1024 + 7;
      await s.linkBlob('big', dg('big'), big, T0);
      assert.deepEqual(await s.getBlobLink('big', dg('big')), { size: big });
    });

    contractCase('a blob linked in one repository is not visible in another', async (s) => {
      await s.linkBlob('team/a', dg('shared'), 10, T0);
      await s.linkBlob('team/b', dg('other'), 20, T0);
      assert.deepEqual(await s.getBlobLink('team/a', dg('shared')), { size: 10 });
      assert.equal(await s.getBlobLink('team/b', dg('shared')), undefined);
      assert.equal(await s.getBlobLink('team/c', dg('shared')), undefined);
      // Linking the same blob into B makes it visible there too, with the same size.
      await s.linkBlob('team/b', dg('shared'), 10, T0 + 1);
      assert.deepEqual(await s.getBlobLink('team/b', dg('shared')), { size: 10 });
    });

    contractCase('unlinkBlob removes only that repository\u2019s link and reports whether there was one', async (s) => {
      await s.linkBlob('a', dg('b1'), 1, T0);
      await s.linkBlob('a', dg('b2'), 2, T0);
      await s.linkBlob('b', dg('b1'), 1, T0);
      assert.equal(await s.unlinkBlob('a', dg('b1')), true);
      assert.equal(await s.getBlobLink('a', dg('b1')), undefined);
      assert.deepEqual(await s.getBlobLink('a', dg('b2')), { size: 2 });
      assert.deepEqual(await s.getBlobLink('b', dg('b1')), { size: 1 });
      assert.equal(await s.unlinkBlob('a', dg('b1')), false);
      assert.equal(await s.unlinkBlob('a', dg('never')), false);
      assert.equal(await s.unlinkBlob('unknown/repo', dg('b1')), false);
      // Relinking after an unlink works.
      await s.linkBlob('a', dg('b1'), 1, T0 + 1);
      assert.deepEqual(await s.getBlobLink('a', dg('b1')), { size: 1 });
    });

    contractCase('a repository with no blob link, manifest or tag left does not exist', async (s) => {
      // repositoryExists: "True when the repository has any blob link, manifest or tag."
      await s.linkBlob('gone', dg('only'), 1, T0);
      assert.equal(await s.unlinkBlob('gone', dg('only')), true);
      assert.equal(await s.repositoryExists('gone'), false);
    });

    // --- manifests ----------------------------------------------------------------

    contractCase('putManifest with a tag records the manifest; resolveTag and getManifest return it', async (s) => {
      await s.linkBlob('app', dg('config'), 100, T0);
      await s.linkBlob('app', dg('layer'), 2000, T0);
      const m = manifest('app', 'm1', {
        blobReferences: [dg('config'), dg('layer')],
        tag: 'v1',
        now: T0 + 10,
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'x.y': 'z' },
      });
      assert.deepEqual(await s.putManifest(m), { missing: [] });
      const want = record(m, null);
      assert.deepEqual(await s.getManifest('app', m.digest), want);
      assert.deepEqual(await s.resolveTag('app', 'v1'), want);
      assert.deepEqual(await s.tagsOf('app', m.digest), [{ name: 'v1', digest: m.digest, pushedAt: T0 + 10, lastPulledAt: null }]);
      assert.deepEqual(await s.listTags('app', {}), ['v1']);
      assert.equal(await s.resolveTag('app', 'v2'), undefined);
      assert.equal(await s.getManifest('app', dg('other')), undefined);
      assert.equal(await s.getManifest('other', m.digest), undefined);
      assert.equal(await s.resolveTag('other', 'v1'), undefined);
    });

    contractCase('putManifest without a tag creates the repository and no tag', async (s) => {
      const m = manifest('fresh/repo', 'untagged', { now: T0 + 5 });
      assert.deepEqual(await s.putManifest(m), { missing: [] });
      assert.deepEqual(await s.getManifest('fresh/repo', m.digest), record(m, null));
      assert.equal(await s.repositoryExists('fresh/repo'), true);
      assert.deepEqual(await s.listRepositories({}), ['fresh/repo']);
      assert.deepEqual(await s.listTags('fresh/repo', {}), []);
      assert.deepEqual(await s.tagsOf('fresh/repo', m.digest), []);
    });

    contractCase('putManifest of the same manifest again is accepted and keeps one record', async (s) => {
      await s.linkBlob('again', dg('l'), 1, T0);
      const m = manifest('again', 'same', { blobReferences: [dg('l')], tag: 'a', now: T0 });
      assert.deepEqual(await s.putManifest(m), { missing: [] });
      assert.deepEqual(await s.putManifest({ ...m, tag: 'b', now: T0 + 1 }), { missing: [] });
      const got = await s.getManifest('again', m.digest);
      assert.equal(got?.digest, m.digest);
      assert.deepEqual(await s.listTags('again', {}), ['a', 'b']);
      assert.equal((await s.resolveTag('again', 'a'))?.digest, m.digest);
      assert.equal((await s.resolveTag('again', 'b'))?.digest, m.digest);
    });

    contractCase('putManifest returns the missing digests and writes nothing in a new repository', async (s) => {
      // The blob exists, but in another repository: that does not count.
      await s.linkBlob('elsewhere', dg('cfg'), 1, T0);
      const m = manifest('new/repo', 'nope', {
        blobReferences: [dg('cfg'), dg('layer-missing')],
        manifestReferences: [dg('child-missing')],
        tag: 'latest',
      });
      const r = await s.putManifest(m);
      assert.deepEqual([...r.missing].sort(), [dg('cfg'), dg('layer-missing'), dg('child-missing')].sort());
      assert.equal(await s.getManifest('new/repo', m.digest), undefined);
      assert.equal(await s.resolveTag('new/repo', 'latest'), undefined);
      assert.equal(await s.listTags('new/repo', {}), undefined);
      assert.equal(await s.repositoryExists('new/repo'), false);
      assert.deepEqual(await s.listRepositories({}), ['elsewhere']);
    });

    contractCase('a failed putManifest (missing reference) leaves an existing repository untouched', async (s) => {
      await s.linkBlob('app', dg('cfg'), 1, T0);
      const old = manifest('app', 'old', { blobReferences: [dg('cfg')], tag: 'latest', now: T0 + 1 });
      assert.deepEqual(await s.putManifest(old), { missing: [] });
      const bad = manifest('app', 'bad', {
        blobReferences: [dg('cfg'), dg('absent-layer')],
        manifestReferences: [dg('absent-child'), old.digest],
        subjectDigest: old.digest,
        artifactType: 'application/vnd.example.sbom',
        tag: 'latest',
        now: T0 + 2,
      });
      const r = await s.putManifest(bad);
      assert.deepEqual([...r.missing].sort(), [dg('absent-layer'), dg('absent-child')].sort());
      assert.equal(await s.getManifest('app', bad.digest), undefined);
      assert.deepEqual(await s.resolveTag('app', 'latest'), record(old, null));
      assert.deepEqual(await s.tagsOf('app', old.digest), [{ name: 'latest', digest: old.digest, pushedAt: T0 + 1, lastPulledAt: null }]);
      assert.deepEqual(await s.tagsOf('app', bad.digest), []);
      assert.deepEqual(await s.listReferrers('app', old.digest), []);
      assert.deepEqual(await s.listTags('app', {}), ['latest']);
    });

    contractCase('putManifest of an index accepts child manifests that exist in the repository', async (s) => {
      await s.linkBlob('multi', dg('cfg'), 1, T0);
      const amd64 = manifest('multi', 'amd64', { blobReferences: [dg('cfg')] });
      const arm64 = manifest('multi', 'arm64', { blobReferences: [dg('cfg')] });
      await s.putManifest(amd64);
      await s.putManifest(arm64);
      const index = manifest('multi', 'index', {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifestReferences: [amd64.digest, arm64.digest],
        tag: 'latest',
      });
      assert.deepEqual(await s.putManifest(index), { missing: [] });
      assert.equal((await s.resolveTag('multi', 'latest'))?.digest, index.digest);
      // A child that exists only in another repository is missing here.
      const other = manifest('other', 'index2', { manifestReferences: [amd64.digest] });
      assert.deepEqual(await s.putManifest(other), { missing: [amd64.digest] });
    });

    contractCase('re-pointing a tag moves it to the new manifest and keeps the old manifest', async (s) => {
      const m1 = manifest('r', 'one', { tag: 'latest', now: T0 + 1 });
      const m2 = manifest('r', 'two', { tag: 'latest', now: T0 + 2 });
      await s.putManifest(m1);
      await s.putManifest(m2);
      assert.deepEqual(await s.resolveTag('r', 'latest'), record(m2, null));
      assert.deepEqual(await s.tagsOf('r', m1.digest), []);
      assert.deepEqual(await s.tagsOf('r', m2.digest), [{ name: 'latest', digest: m2.digest, pushedAt: T0 + 2, lastPulledAt: null }]);
      assert.deepEqual(await s.getManifest('r', m1.digest), record(m1, null));
      assert.deepEqual(await s.listTags('r', {}), ['latest']);
      // And back again.
      await s.putManifest({ ...m1, now: T0 + 3 });
      assert.equal((await s.resolveTag('r', 'latest'))?.digest, m1.digest);
      assert.deepEqual(await s.tagsOf('r', m2.digest), []);
    });

    contractCase('tags of the same name in different repositories are independent', async (s) => {
      const a = manifest('a', 'ma', { tag: 'latest' });
      const b = manifest('b', 'mb', { tag: 'latest' });
      await s.putManifest(a);
      await s.putManifest(b);
      assert.equal((await s.resolveTag('a', 'latest'))?.digest, a.digest);
      assert.equal((await s.resolveTag('b', 'latest'))?.digest, b.digest);
      assert.equal(await s.deleteTag('a', 'latest'), true);
      assert.equal((await s.resolveTag('b', 'latest'))?.digest, b.digest);
    });

    contractCase('deleteManifest removes the manifest and every tag pointing at it', async (s) => {
      const m1 = manifest('r', 'one', { tag: 'a' });
      const m2 = manifest('r', 'two', { tag: 'c' });
      await s.putManifest(m1);
      await s.putManifest({ ...m1, tag: 'b' });
      await s.putManifest(m2);
      // The same digest in another repository is a different manifest.
      await s.putManifest({ ...m1, repository: 'other', tag: 'a' });
      assert.equal(await s.deleteManifest('r', m1.digest), true);
      assert.equal(await s.getManifest('r', m1.digest), undefined);
      assert.equal(await s.resolveTag('r', 'a'), undefined);
      assert.equal(await s.resolveTag('r', 'b'), undefined);
      assert.deepEqual(await s.tagsOf('r', m1.digest), []);
      assert.deepEqual(await s.listTags('r', {}), ['c']);
      assert.equal((await s.resolveTag('r', 'c'))?.digest, m2.digest);
      assert.equal((await s.resolveTag('other', 'a'))?.digest, m1.digest);
      assert.equal(await s.deleteManifest('r', m1.digest), false);
      assert.equal(await s.deleteManifest('unknown', m1.digest), false);
    });

    contractCase('a deleted manifest can be pushed again', async (s) => {
      await s.linkBlob('r', dg('cfg'), 1, T0);
      const m = manifest('r', 'again', { blobReferences: [dg('cfg')], tag: 'v1' });
      await s.putManifest(m);
      assert.equal(await s.deleteManifest('r', m.digest), true);
      assert.deepEqual(await s.putManifest({ ...m, now: T0 + 9 }), { missing: [] });
      assert.deepEqual(await s.resolveTag('r', 'v1'), { ...record(m, null), pushedAt: T0 + 9 });
    });

    contractCase('deleteTag removes one tag and leaves the manifest', async (s) => {
      const m = manifest('r', 'one', { tag: 'a' });
      await s.putManifest(m);
      await s.putManifest({ ...m, tag: 'b' });
      assert.equal(await s.deleteTag('r', 'a'), true);
      assert.equal(await s.resolveTag('r', 'a'), undefined);
      assert.equal((await s.resolveTag('r', 'b'))?.digest, m.digest);
      assert.deepEqual(await s.getManifest('r', m.digest), record(m, null));
      assert.deepEqual(await s.listTags('r', {}), ['b']);
      assert.equal(await s.deleteTag('r', 'a'), false);
      assert.equal(await s.deleteTag('r', 'never'), false);
      assert.equal(await s.deleteTag('unknown', 'b'), false);
    });

    // --- tags list ------------------------------------------------------------------

    contractCase('listTags is in lexical order and pages with n and last', async (s) => {
      const tags = ['v1.10', 'v1.2', 'latest', 'Latest', 'a', 'b_c', '1.0', 'a-b', 'a.b', 'v1', 'Z', '_x'];
      for (const [i, t] of tags.entries()) await s.putManifest(manifest('r', `m${i % 4}`, { tag: t, now: T0 + i }));
      const all = byteSorted(tags);
      assert.deepEqual(await s.listTags('r', {}), all);
      for (const n of [1, 3, 5, tags.length, tags.length + 1]) {
        assert.deepEqual(await pageAll(async (p) => (await s.listTags('r', p)) ?? [], n), all, `pages of ${n}`);
        assert.deepEqual(await s.listTags('r', { n }), all.slice(0, n));
      }
      assert.deepEqual(await s.listTags('r', { last: 'a', n: 2 }), ['a-b', 'a.b']);
      assert.deepEqual(await s.listTags('r', { last: all[all.length - 1] }), []);
    });

    contractCase('listTags is undefined for an unknown repository and [] for one with blobs but no tags', async (s) => {
      assert.equal(await s.listTags('unknown', {}), undefined);
      await s.linkBlob('blobs-only', dg('b'), 1, T0);
      assert.deepEqual(await s.listTags('blobs-only', {}), []);
      await s.putManifest(manifest('untagged', 'm'));
      assert.deepEqual(await s.listTags('untagged', {}), []);
    });

    // --- referrers ------------------------------------------------------------------

    contractCase('listReferrers finds manifests by subject, filtered by artifactType', async (s) => {
      const subject = manifest('app', 'subject', { tag: 'v1' });
      await s.putManifest(subject);
      const sbom = manifest('app', 'sbom', { subjectDigest: subject.digest, artifactType: 'application/vnd.example.sbom', now: T0 + 1 });
      const sig = manifest('app', 'sig', {
        subjectDigest: subject.digest,
        artifactType: 'application/vnd.example.signature',
        annotations: { 'org.example.signer': 'ci' },
        now: T0 + 2,
      });
      const sig2 = manifest('app', 'sig2', { subjectDigest: subject.digest, artifactType: 'application/vnd.example.signature', now: T0 + 3 });
      const unrelated = manifest('app', 'unrelated', { subjectDigest: dg('another-subject'), artifactType: 'application/vnd.example.sbom' });
      const otherRepo = manifest('other', 'sbom', { subjectDigest: subject.digest, artifactType: 'application/vnd.example.sbom' });
      for (const m of [sbom, sig, sig2, unrelated, otherRepo]) assert.deepEqual(await s.putManifest(m), { missing: [] });

      const all = await s.listReferrers('app', subject.digest);
      assert.deepEqual(byDigest(all), byDigest([sbom, sig, sig2].map((m) => record(m, null))));
      assert.deepEqual(await s.listReferrers('app', subject.digest, 'application/vnd.example.sbom'), [record(sbom, null)]);
      assert.deepEqual(
        byDigest(await s.listReferrers('app', subject.digest, 'application/vnd.example.signature')),
        byDigest([sig, sig2].map((m) => record(m, null))),
      );
      assert.deepEqual(await s.listReferrers('app', subject.digest, 'application/vnd.example.none'), []);
      assert.deepEqual(await s.listReferrers('app', dg('no-referrers')), []);
      assert.deepEqual(await s.listReferrers('unknown', subject.digest), []);
      // Deleting a referrer removes it from the list.
      await s.deleteManifest('app', sig.digest);
      assert.deepEqual(await s.listReferrers('app', subject.digest, 'application/vnd.example.signature'), [record(sig2, null)]);
    });

    contractCase('a referrer may be pushed before its subject exists', async (s) => {
      // distribution-spec: a registry SHOULD accept a manifest whose subject is not yet present.
      const subjectDigest = dg('future-subject');
      const ref = manifest('app', 'early', { subjectDigest, artifactType: 'application/vnd.example.sbom' });
      assert.deepEqual(await s.putManifest(ref), { missing: [] });
      assert.deepEqual(await s.listReferrers('app', subjectDigest), [record(ref, null)]);
    });

    // --- pulls ------------------------------------------------------------------------

    contractCase('recordPulls keeps the latest time and updates the tag and the manifest', async (s) => {
      const m = manifest('r', 'pulled', { tag: 't', now: T0 });
      const byDigestOnly = manifest('r', 'by-digest', { tag: 'u', now: T0 });
      await s.putManifest(m);
      await s.putManifest(byDigestOnly);
      await s.recordPulls([
        { repository: 'r', digest: m.digest, tag: 't', at: T0 + 100 },
        { repository: 'r', digest: m.digest, tag: 't', at: T0 + 300 },
        { repository: 'r', digest: m.digest, tag: 't', at: T0 + 200 },
        { repository: 'r', digest: byDigestOnly.digest, tag: null, at: T0 + 500 },
      ]);
      assert.equal((await s.getManifest('r', m.digest))?.lastPulledAt, T0 + 300);
      assert.equal((await s.resolveTag('r', 't'))?.lastPulledAt, T0 + 300);
      assert.deepEqual(await s.tagsOf('r', m.digest), [{ name: 't', digest: m.digest, pushedAt: T0, lastPulledAt: T0 + 300 }]);
      // A pull by digest touches the manifest, not its tags.
      assert.equal((await s.getManifest('r', byDigestOnly.digest))?.lastPulledAt, T0 + 500);
      assert.deepEqual(await s.tagsOf('r', byDigestOnly.digest), [
        { name: 'u', digest: byDigestOnly.digest, pushedAt: T0, lastPulledAt: null },
      ]);
      // An older batch never moves a time backwards.
      await s.recordPulls([{ repository: 'r', digest: m.digest, tag: 't', at: T0 + 250 }]);
      assert.equal((await s.getManifest('r', m.digest))?.lastPulledAt, T0 + 300);
      assert.equal((await s.tagsOf('r', m.digest))[0]?.lastPulledAt, T0 + 300);
      await s.recordPulls([{ repository: 'r', digest: m.digest, tag: 't', at: T0 + 400 }]);
      assert.equal((await s.getManifest('r', m.digest))?.lastPulledAt, T0 + 400);
      assert.equal((await s.tagsOf('r', m.digest))[0]?.lastPulledAt, T0 + 400);
      await s.recordPulls([]);
    });

    contractCase('recordPulls ignores events for deleted or unknown manifests and applies the rest', async (s) => {
      // Pull times are flushed late; the manifest may be gone by then.
      const m = manifest('r', 'kept', { tag: 't' });
      await s.putManifest(m);
      await s.recordPulls([
        { repository: 'unknown', digest: m.digest, tag: 't', at: T0 + 1 },
        { repository: 'r', digest: dg('deleted'), tag: 'gone', at: T0 + 2 },
        { repository: 'r', digest: m.digest, tag: 't', at: T0 + 3 },
      ]);
      assert.equal((await s.getManifest('r', m.digest))?.lastPulledAt, T0 + 3);
      assert.equal(await s.repositoryExists('unknown'), false);
    });

    // --- uploads ----------------------------------------------------------------------

    contractCase('uploads: create, get, update, delete', async (s) => {
      const u = { id: '7b6f0c1e-0d2a-4a8e-9a53-1f1c0b7a2e11', repository: 'app', size: 0, startedAt: T0, updatedAt: T0 };
      await s.createUpload(u);
      assert.deepEqual(await s.getUpload(u.id), u);
      assert.equal(await s.getUpload('00000000-0000-0000-0000-000000000000'), undefined);
      assert.equal(await s.updateUpload(u.id, 6 * 1024 * 1024 * 1024, T0 + 50), true);
      assert.deepEqual(await s.getUpload(u.id), { ...u, size: 6 * 1024 * 1024 * 1024, updatedAt: T0 + 50 });
      assert.equal(await s.updateUpload('missing-upload', 1, T0 + 60), false);
      assert.equal(await s.deleteUpload(u.id), true);
      assert.equal(await s.getUpload(u.id), undefined);
      assert.equal(await s.deleteUpload(u.id), false);
      assert.equal(await s.updateUpload(u.id, 10, T0 + 70), false, 'update of a deleted upload');
      // Upload sessions do not create repositories.
      assert.equal(await s.repositoryExists('app'), false);
    });

    contractCase('listStaleUploads returns uploads not touched since `before`, at most `limit`', async (s) => {
      const mk = (id: string, updatedAt: number) => ({ id, repository: 'app', size: 1, startedAt: T0, updatedAt });
      await s.createUpload(mk('u-100', T0 + 100));
      await s.createUpload(mk('u-200', T0 + 200));
      await s.createUpload(mk('u-300', T0 + 300));
      await s.createUpload(mk('u-touched', T0 + 50));
      await s.updateUpload('u-touched', 5, T0 + 400);
      const stale = await s.listStaleUploads(T0 + 250, 100);
      assert.deepEqual(
        stale.map((u) => u.id).sort(),
        ['u-100', 'u-200'],
      );
      assert.deepEqual(
        stale.find((u) => u.id === 'u-100'),
        mk('u-100', T0 + 100),
      );
      const limited = await s.listStaleUploads(T0 + 1000, 2);
      assert.equal(limited.length, 2);
      for (const u of limited) assert.ok(['u-100', 'u-200', 'u-300', 'u-touched'].includes(u.id));
      assert.deepEqual(await s.listStaleUploads(T0, 100), []);
    });

    // --- concurrency and transactions -----------------------------------------------

    contractCase('concurrent putManifest of one tag leaves exactly one consistent tag', async (s) => {
      await s.linkBlob('race', dg('cfg'), 1, T0);
      const ms = Array.from({ length: 30 }, (_, i) => manifest('race', `m${i}`, { blobReferences: [dg('cfg')], tag: 'latest', now: T0 + i }));
      const results = await Promise.all(ms.map((m) => s.putManifest(m)));
      for (const r of results) assert.deepEqual(r, { missing: [] });
      const winner = await s.resolveTag('race', 'latest');
      assert.ok(winner, 'the tag must resolve');
      assert.ok(ms.some((m) => m.digest === winner.digest));
      assert.deepEqual(await s.listTags('race', {}), ['latest']);
      let tagged = 0;
      for (const m of ms) {
        assert.ok(await s.getManifest('race', m.digest), `manifest ${m.digest} must exist`);
        const tags = await s.tagsOf('race', m.digest);
        if (m.digest === winner.digest) {
          assert.deepEqual(tags.map((t) => t.name), ['latest']);
          tagged++;
        } else assert.deepEqual(tags, [], `only the winner carries the tag`);
      }
      assert.equal(tagged, 1);
    });

    contractCase('concurrent putManifest of many tags and repositories loses none', async (s) => {
      const ms = Array.from({ length: 40 }, (_, i) => manifest(`repo${i % 4}`, `m${i}`, { tag: `t${i}`, now: T0 + i }));
      await Promise.all(ms.map((m) => s.putManifest(m)));
      for (const m of ms) assert.equal((await s.resolveTag(m.repository, m.tag!))?.digest, m.digest);
      assert.deepEqual(await s.listRepositories({}), ['repo0', 'repo1', 'repo2', 'repo3']);
      for (let r = 0; r < 4; r++) assert.equal((await s.listTags(`repo${r}`, {}))?.length, 10);
    });

    contractCase('a putManifest that fails midway (missing reference) leaves nothing, even among concurrent writers', async (s) => {
      await s.linkBlob('tx', dg('cfg'), 1, T0);
      const good = manifest('tx', 'good', { blobReferences: [dg('cfg')], tag: 'stable', now: T0 + 1 });
      await s.putManifest(good);
      const attempts = Array.from({ length: 10 }, (_, i) =>
        manifest('tx', `bad${i}`, { blobReferences: [dg('cfg'), dg(`absent${i}`)], tag: 'stable', now: T0 + 10 + i }),
      );
      const results = await Promise.all(attempts.map((m) => s.putManifest(m)));
      results.forEach((r, i) => assert.deepEqual(r.missing, [dg(`absent${i}`)]));
      for (const m of attempts) assert.equal(await s.getManifest('tx', m.digest), undefined);
      assert.deepEqual(await s.resolveTag('tx', 'stable'), record(good, null));
      assert.deepEqual(await s.listTags('tx', {}), ['stable']);
    });

    contractCase('ping resolves on a working store', async (s) => {
      await s.ping();
    });
  });
}

// --- helpers ---------------------------------------------------------------------

function dg(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** A NewManifest whose digest is derived from the repository-independent `seed`. */
function manifest(repository: string, seed: string, over: Partial<NewManifest> = {}): NewManifest {
  return {
    repository,
    digest: dg(`manifest:${seed}`),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 500 + seed.length,
    artifactType: null,
    subjectDigest: null,
    annotations: null,
    blobReferences: [],
    manifestReferences: [],
    tag: null,
    now: T0,
    ...over,
  };
}

/** What getManifest must return for a manifest stored from `m`. */
function record(m: NewManifest, lastPulledAt: number | null): ManifestRecord {
  return {
    repository: m.repository,
    digest: m.digest,
    mediaType: m.mediaType,
    size: m.size,
    artifactType: m.artifactType,
    subjectDigest: m.subjectDigest,
    annotations: m.annotations,
    pushedAt: m.now,
    lastPulledAt,
  };
}

function byDigest(rs: ManifestRecord[]): ManifestRecord[] {
  return [...rs].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/** Lexical byte order, computed independently of any database collation. */
function byteSorted(xs: string[]): string[] {
  return [...xs].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** Follows n/last paging to the end (bounded). */
async function pageAll(fetch: (p: Page) => Promise<string[]>, n: number): Promise<string[]> {
  const out: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await fetch(last === undefined ? { n } : { n, last });
    assert.ok(page.length <= n, `page of ${page.length} exceeds n=${n}`);
    if (page.length === 0) return out;
    out.push(...page);
    last = page[page.length - 1];
  }
  throw new Error('paging did not end');
}
