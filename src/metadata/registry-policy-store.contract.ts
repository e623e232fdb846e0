import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { contractCases } from '../../test/helpers/contract-case.js';
import type { ImageRecord, MetadataStore, NewManifest, PushLimits } from './metadata-store.js';
import type { AuditEntry, AuditStore, ProjectUsage, SettingsStore, UsageStore } from './settings-store.js';
import type { GcStore } from './gc-store.js';
import type { ScanRecord, ScanStore, SignatureCheckStore } from './scan-store.js';

/**
 * The contract of what lifecycle policies, tag immutability, quotas, settings,
 * the audit log and usage reports need from the metadata database, as the
 * comments in metadata-store.ts and settings-store.ts promise. `make` returns
 * fresh, empty, migrated stores that share one database (`gc` is used only to
 * observe blob claim times). Every expected number is computed by hand from
 * the sizes and times the case writes.
 */
export interface RegistryPolicyStoreFixture {
  meta: MetadataStore;
  settings: SettingsStore & AuditStore & UsageStore;
  gc: GcStore;
  scans: ScanStore & SignatureCheckStore;
  cleanup(): Promise<void>;
}

const CASE_TIMEOUT_MS = 60_000;
/** Milliseconds since the epoch; every time in the suite is T0 + something. */
const T0 = 1_700_000_000_000;

export function registryPolicyStoreContract(
  name: string,
  make: () => Promise<RegistryPolicyStoreFixture>,
  options: { skip?: Record<string, string> } = {},
): void {
  const contractCase = contractCases(make, options.skip, CASE_TIMEOUT_MS);

  describe(`registry policy store contract: ${name}`, () => {
    // --- tag immutability -------------------------------------------------------------

    contractCase('an immutable tag is created, re-pushed with its digest, and never re-pointed', async ({ meta: s, gc }) => {
      await s.linkBlob('team/app', dg('cfg'), 100, T0);
      const imm: PushLimits = { immutableTag: true };
      const m1 = manifest('team/app', 'm1', { blobReferences: [dg('cfg')], tag: 'v1', now: T0 + 1, limits: imm });
      assert.deepEqual(await s.putManifest(m1), { missing: [] });
      assert.equal((await s.resolveTag('team/app', 'v1'))?.digest, m1.digest);

      const m2 = manifest('team/app', 'm2', { blobReferences: [dg('cfg')], tag: 'v1', now: T0 + 2, limits: imm });
      assert.deepEqual(await s.putManifest(m2), { missing: [], refusal: { kind: 'immutable', currentDigest: m1.digest } });
      // Nothing written: the tag, the manifest, its blob row, the repositories.
      assert.deepEqual(await s.tagsOf('team/app', m1.digest), [{ name: 'v1', digest: m1.digest, pushedAt: T0 + 1, lastPulledAt: null }]);
      assert.equal(await s.getManifest('team/app', m2.digest), undefined);
      assert.deepEqual(await gc.missingBlobRows([m2.digest]), [m2.digest]);
      assert.deepEqual(await s.listRepositories({}), ['team/app']);
      assert.deepEqual(await s.listTags('team/app', {}), ['v1']);

      // The same digest again is not a change.
      assert.deepEqual(await s.putManifest({ ...m1, now: T0 + 3 }), { missing: [] });
      assert.equal((await s.resolveTag('team/app', 'v1'))?.digest, m1.digest);
      // Another repository's tag of the same name is another tag.
      await s.linkBlob('team/other', dg('cfg'), 100, T0);
      assert.deepEqual(await s.putManifest({ ...m2, repository: 'team/other' }), { missing: [] });

      // Without the limit the tag moves.
      assert.deepEqual(await s.putManifest({ ...m2, limits: undefined }), { missing: [] });
      assert.equal((await s.resolveTag('team/app', 'v1'))?.digest, m2.digest);
    });

    contractCase('of 10 concurrent pushes to one new immutable tag exactly one wins', async ({ meta: s }) => {
      // Each racer has its own config blob: a shared one would be row-locked by every push and serialise
      // them before the tag is written. Linking them concurrently opens a pool's connections beforehand,
      // so the pushes overlap instead of the first committing while the others still connect.
      await Promise.all(Array.from({ length: 10 }, (_, i) => s.linkBlob('race/imm', dg(`cfg${i}`), 100 + i, T0)));
      const ms = Array.from({ length: 10 }, (_, i) =>
        manifest('race/imm', `racer${i}`, { blobReferences: [dg(`cfg${i}`)], tag: 'release', now: T0 + i, limits: { immutableTag: true } }),
      );
      const results = await Promise.all(ms.map((m) => s.putManifest(m)));
      const winners = ms.filter((_, i) => results[i]?.refusal === undefined);
      assert.equal(winners.length, 1, JSON.stringify(results));
      const winner = winners[0]!;
      results.forEach((r, i) => {
        if (ms[i] !== winner) assert.deepEqual(r, { missing: [], refusal: { kind: 'immutable', currentDigest: winner.digest } });
        else assert.deepEqual(r, { missing: [] });
      });
      assert.equal((await s.resolveTag('race/imm', 'release'))?.digest, winner.digest);
      for (const m of ms) if (m !== winner) assert.equal(await s.getManifest('race/imm', m.digest), undefined);
      assert.deepEqual(
        (await s.listImages('race/imm')).map((i) => [i.digest, i.tags]),
        [[winner.digest, ['release']]],
      );
    });

    // --- quotas -----------------------------------------------------------------------

    contractCase('the bytes quota counts unique blobs and refuses a push over the limit, writing nothing', async ({ meta: s }) => {
      const quota = (bytes: number) => ({ quota: { project: 'q', bytes, tags: null, since: T0 } });
      await s.linkBlob('q/app', dg('cfg'), 100, T0);
      await s.linkBlob('q/app', dg('layer'), 1000, T0);
      await s.linkBlob('q/lib', dg('layer'), 1000, T0 + 1); // the same blob in a second repository counts once
      assert.equal(await s.projectBytes('q', T0), 1100);
      // 100 + 1000 + the manifest's own 200 = 1300: at the limit is allowed.
      const m1 = manifest('q/app', 'm1', { size: 200, blobReferences: [dg('cfg'), dg('layer')], tag: 'v1', now: T0 + 2, limits: quota(1300) });
      assert.deepEqual(await s.putManifest(m1), { missing: [] });
      assert.equal(await s.projectBytes('q', T0), 1300);

      const m2 = manifest('q/app', 'm2', { size: 50, blobReferences: [dg('cfg'), dg('layer')], tag: 'v2', now: T0 + 3, limits: quota(1300) });
      assert.deepEqual(await s.putManifest(m2), {
        missing: [],
        refusal: { kind: 'quota', resource: 'bytes', used: 1300, adding: 50, limit: 1300 },
      });
      assert.equal(await s.getManifest('q/app', m2.digest), undefined);
      assert.deepEqual(await s.listTags('q/app', {}), ['v1']);
      assert.equal(await s.projectBytes('q', T0), 1300);
      assert.deepEqual(await s.listRepositories({}), ['q/app', 'q/lib']);

      // A push into a new repository of the project is refused the same way and does not create it.
      await s.linkBlob('q/app', dg('small'), 1, T0 + 4);
      assert.equal(await s.projectBytes('q', T0), 1301);
      const m3 = manifest('q/new', 'm3', { size: 10, tag: 'x', now: T0 + 5, limits: quota(1305) });
      assert.deepEqual(await s.putManifest(m3), {
        missing: [],
        refusal: { kind: 'quota', resource: 'bytes', used: 1301, adding: 10, limit: 1305 },
      });
      assert.equal(await s.repositoryExists('q/new'), false);
      // A push that adds no bytes (another tag for a stored manifest) is not refused even when over.
      assert.deepEqual(await s.putManifest({ ...m1, tag: 'v1-again', now: T0 + 6, limits: quota(1000) }), { missing: [] });
      assert.deepEqual(await s.listTags('q/app', {}), ['v1', 'v1-again']);
    });

    contractCase('a stale unreferenced link does not count towards the quota until a push references it', async ({ meta: s }) => {
      await s.linkBlob('q/app', dg('old'), 5000, T0 - 10);
      await s.linkBlob('q/app', dg('edge'), 30, T0); // made exactly at `since`: counts
      await s.linkBlob('q/app', dg('young'), 7, T0 + 1);
      assert.equal(await s.projectBytes('q', T0), 37);
      assert.equal(await s.projectBytes('q', T0 + 1), 7);
      assert.equal(await s.projectBytes('q', T0 - 10), 5037);
      const limits = { quota: { project: 'q', bytes: 5000, tags: null, since: T0 } };
      // Referencing the old link brings its 5000 bytes back, with the manifest's own 300.
      const m = manifest('q/app', 'uses-old', { size: 300, blobReferences: [dg('old')], now: T0 + 2, limits });
      assert.deepEqual(await s.putManifest(m), {
        missing: [],
        refusal: { kind: 'quota', resource: 'bytes', used: 37, adding: 5300, limit: 5000 },
      });
      assert.equal(await s.projectBytes('q', T0), 37);
      assert.deepEqual(await s.putManifest({ ...m, limits: { quota: { ...limits.quota, bytes: 5337 } } }), { missing: [] });
      assert.equal(await s.projectBytes('q', T0), 5337);
    });

    contractCase('the tags quota refuses a new tag over the limit but not re-pointing an existing one', async ({ meta: s }) => {
      const limits = (tags: number) => ({ quota: { project: 'team', bytes: null, tags, since: T0 } });
      const tagged: [string, string][] = [['team/a', 'v1'], ['team/a', 'v2'], ['team/b', 'v1'], ['teamx/c', 'v1'], ['teamx/c', 'v2']];
      for (const [repo, tag] of tagged) {
        assert.deepEqual(await s.putManifest(manifest(repo, `${repo}:${tag}`, { tag, now: T0 })), { missing: [] });
      }
      const m = manifest('team/b', 'new', { tag: 'v2', now: T0 + 1, limits: limits(3) });
      assert.deepEqual(await s.putManifest(m), { missing: [], refusal: { kind: 'quota', resource: 'tags', used: 3, adding: 1, limit: 3 } });
      assert.equal(await s.getManifest('team/b', m.digest), undefined);
      assert.deepEqual(await s.listTags('team/b', {}), ['v1']);
      // Re-pointing team/b:v1 adds no tag; an untagged push adds none either.
      assert.deepEqual(await s.putManifest({ ...m, tag: 'v1' }), { missing: [] });
      assert.equal((await s.resolveTag('team/b', 'v1'))?.digest, m.digest);
      const untagged = manifest('team/b', 'untagged', { now: T0 + 2, limits: limits(3) });
      assert.deepEqual(await s.putManifest(untagged), { missing: [] });
      // Under the limit a new tag is fine.
      assert.deepEqual(await s.putManifest({ ...m, tag: 'v2', limits: limits(4) }), { missing: [] });
      assert.deepEqual(await s.listTags('team/b', {}), ['v1', 'v2']);
    });

    // --- project usage ----------------------------------------------------------------

    contractCase('projectBytes and projectHasBlob: the project is the first path component, matched exactly', async ({ meta: s }) => {
      const repos: [string, number][] = [['team', 1], ['team/x', 2], ['team/x/y', 4], ['teamx/y', 8], ['a_b/x', 16], ['axb/x', 32], ['tea/m', 64]];
      for (const [repo, size] of repos) await s.linkBlob(repo, dg(`own:${repo}`), size, T0);
      await s.linkBlob('team/x', dg('shared'), 128, T0);
      await s.linkBlob('team/x/y', dg('shared'), 128, T0);
      await s.linkBlob('teamx/y', dg('shared'), 128, T0);
      const m = manifest('team/x', 'tm', { size: 256, blobReferences: [dg('own:team/x')], now: T0 });
      assert.deepEqual(await s.putManifest(m), { missing: [] });
      assert.equal(await s.projectBytes('team', T0), 1 + 2 + 4 + 128 + 256);
      assert.equal(await s.projectBytes('teamx', T0), 8 + 128);
      assert.equal(await s.projectBytes('a_b', T0), 16);
      assert.equal(await s.projectBytes('axb', T0), 32);
      assert.equal(await s.projectBytes('tea', T0), 64);
      for (const p of ['te', 'a', 'a_', 'x', 'nothing']) assert.equal(await s.projectBytes(p, T0), 0, p);

      const has = (p: string, d: string) => s.projectHasBlob(p, d, T0);
      assert.equal(await has('team', dg('own:team')), true);
      assert.equal(await has('team', dg('own:team/x/y')), true);
      assert.equal(await has('team', m.digest), true, 'a manifest counts');
      assert.equal(await has('team', dg('own:teamx/y')), false);
      assert.equal(await has('teamx', dg('own:team/x')), false);
      assert.equal(await has('teamx', dg('shared')), true);
      assert.equal(await has('a_b', dg('own:axb/x')), false);
      assert.equal(await has('axb', dg('own:a_b/x')), false);
      assert.equal(await has('a_b', dg('own:a_b/x')), true);
      assert.equal(await has('tea', dg('own:team')), false);
      // A stale unreferenced link does not count; a referenced one does however old.
      await s.linkBlob('team/x', dg('stale'), 512, T0 - 1);
      assert.equal(await has('team', dg('stale')), false);
      assert.equal(await s.projectHasBlob('team', dg('stale'), T0 - 1), true);
      assert.equal(await has('team', dg('own:team/x')), true);
      assert.equal(await s.projectHasBlob('team', dg('own:team/x'), T0 + 1000), true, 'referenced by tm');
      assert.equal(await s.projectHasBlob('team', dg('own:team'), T0 + 1000), false, 'unreferenced and older than since');
    });

    // --- claims and mounts -------------------------------------------------------------

    contractCase('claimBlob records a new blob without linking it and refreshes an existing claim', async ({ meta: s, gc }) => {
      const d = dg('claimed');
      await s.claimBlob(d, 10, T0);
      assert.deepEqual(await gc.missingBlobRows([d, dg('never')]), [dg('never')]);
      assert.deepEqual(await s.listRepositories({}), []);
      // Claimed at T0: within the grace period for a cutoff of T0, outside it for T0 + 1.
      assert.deepEqual(await gc.unreferencedBlobs(T0, 10, {}), []);
      assert.deepEqual(await gc.unreferencedBlobs(T0 + 1, 10, {}), [{ digest: d, size: 10 }]);
      await s.claimBlob(d, 10, T0 + 500);
      assert.deepEqual(await gc.unreferencedBlobs(T0 + 500, 10, {}), []);
      assert.deepEqual(await gc.unreferencedBlobs(T0 + 501, 10, {}), [{ digest: d, size: 10 }]);
      await s.linkBlob('r', d, 10, T0 + 600);
      assert.deepEqual(await s.getBlobLink('r', d), { size: 10 });
    });

    contractCase('mountBlob links a blob the source has into the target, and writes nothing otherwise', async ({ meta: s, gc }) => {
      const d = dg('mounted');
      await s.linkBlob('src/a', d, 77, T0);
      await s.linkBlob('src/a', dg('other'), 5, T0);
      await s.linkBlob('third/c', dg('third-only'), 9, T0);
      assert.equal(await s.mountBlob('src/a', 'dst/b', dg('third-only'), T0 + 1), undefined);
      assert.equal(await s.mountBlob('nowhere', 'dst/b', d, T0 + 1), undefined);
      assert.deepEqual(await s.listRepositories({}), ['src/a', 'third/c']);
      assert.equal(await s.getBlobLink('dst/b', dg('third-only')), undefined);

      assert.deepEqual(await s.mountBlob('src/a', 'dst/b', d, T0 + 1000), { size: 77 });
      assert.deepEqual(await s.getBlobLink('dst/b', d), { size: 77 });
      assert.deepEqual(await s.getBlobLink('src/a', d), { size: 77 });
      assert.equal(await s.getBlobLink('dst/b', dg('other')), undefined);
      assert.deepEqual(await s.listRepositories({}), ['dst/b', 'src/a', 'third/c']);
      assert.equal(await s.projectBytes('dst', T0 + 1000), 77, 'the new link is young');
      // Mounting again into an existing repository is fine.
      assert.deepEqual(await s.mountBlob('src/a', 'dst/b', d, T0 + 1001), { size: 77 });
      // The mount claimed the blob: once unlinked everywhere it is kept until the grace period after T0 + 1001.
      assert.equal(await s.unlinkBlob('src/a', d), true);
      assert.equal(await s.unlinkBlob('dst/b', d), true);
      assert.deepEqual(await gc.unreferencedBlobs(T0 + 1001, 10, {}), []);
      assert.deepEqual(await gc.unreferencedBlobs(T0 + 1002, 10, {}), [{ digest: d, size: 77 }]);
    });

    // --- images and expiry --------------------------------------------------------------

    contractCase('listImages reports tags, times, subject and child manifests of the repository', async ({ meta: s }) => {
      for (const b of ['cfg', 'layer', 'not-a-manifest']) await s.linkBlob('img', dg(b), 10, T0);
      const m1 = manifest('img', 'm1', { blobReferences: [dg('cfg'), dg('layer')], tag: 'v1', now: T0 + 10 });
      const m2 = manifest('img', 'm2', { blobReferences: [dg('cfg')], now: T0 + 20 });
      for (const m of [m1, m2, { ...m1, tag: 'latest' }]) assert.deepEqual(await s.putManifest(m), { missing: [] });
      // A manifest elsewhere with the digest of img's plain blob does not make that blob a child here.
      assert.deepEqual(await s.putManifest({ ...manifest('elsewhere', 'x'), digest: dg('not-a-manifest') }), { missing: [] });
      const idx = manifest('img', 'idx', { manifestReferences: [m2.digest, m1.digest, dg('not-a-manifest')], tag: 'multi', now: T0 + 30 });
      const sig = manifest('img', 'sig', { subjectDigest: m1.digest, now: T0 + 40 });
      for (const m of [idx, sig]) assert.deepEqual(await s.putManifest(m), { missing: [] });
      await s.recordPulls([
        { repository: 'img', digest: m1.digest, tag: 'v1', at: T0 + 100 },
        { repository: 'img', digest: m1.digest, tag: null, at: T0 + 50 },
        { repository: 'img', digest: idx.digest, tag: 'multi', at: T0 + 70 },
      ]);
      const want: ImageRecord[] = [
        { digest: m1.digest, tags: ['latest', 'v1'], pushedAt: T0 + 10, lastPulledAt: T0 + 100, subject: null, children: [] },
        { digest: m2.digest, tags: [], pushedAt: T0 + 20, lastPulledAt: null, subject: null, children: [] },
        { digest: idx.digest, tags: ['multi'], pushedAt: T0 + 30, lastPulledAt: T0 + 70, subject: null, children: sorted([m1.digest, m2.digest]) },
        { digest: sig.digest, tags: [], pushedAt: T0 + 40, lastPulledAt: null, subject: m1.digest, children: [] },
      ];
      assert.deepEqual(normaliseImages(await s.listImages('img')), normaliseImages(want));
      assert.deepEqual(await s.listImages('unknown'), []);
    });

    contractCase('expireManifest deletes only when the tags match exactly and nothing references it', async ({ meta: s }) => {
      await s.linkBlob('e', dg('cfg'), 10, T0);
      const tagged = manifest('e', 'tagged', { blobReferences: [dg('cfg')], tag: 'v1', now: T0 });
      const child = manifest('e', 'child', { now: T0 });
      const idx = manifest('e', 'idx', { manifestReferences: [child.digest], tag: 'multi', now: T0 });
      for (const m of [tagged, { ...tagged, tag: 'latest' }, child, idx]) assert.deepEqual(await s.putManifest(m), { missing: [] });

      for (const expected of [[], ['v1'], ['latest', 'v1', 'v2'], ['v1', 'v2']]) {
        assert.equal(await s.expireManifest('e', tagged.digest, expected), 'changed', JSON.stringify(expected));
      }
      assert.deepEqual(await s.listTags('e', {}), ['latest', 'multi', 'v1']);
      assert.equal(await s.expireManifest('e', tagged.digest, ['v1', 'latest']), 'deleted');
      assert.equal(await s.getManifest('e', tagged.digest), undefined);
      assert.deepEqual(await s.listTags('e', {}), ['multi']);
      assert.equal(await s.expireManifest('e', tagged.digest, ['v1', 'latest']), 'gone');

      assert.equal(await s.expireManifest('e', child.digest, []), 'changed', 'referenced by idx');
      assert.ok(await s.getManifest('e', child.digest));
      assert.equal(await s.expireManifest('e', idx.digest, ['multi']), 'deleted');
      assert.equal(await s.expireManifest('e', child.digest, []), 'deleted');
      assert.equal(await s.expireManifest('e', dg('never'), []), 'gone');
      assert.equal(await s.expireManifest('unknown', child.digest, []), 'gone');
      assert.equal(await s.repositoryExists('e'), true, 'its blob link keeps it');

      const solo = manifest('solo', 'solo', { tag: 'only', now: T0 });
      assert.deepEqual(await s.putManifest(solo), { missing: [] });
      assert.equal(await s.expireManifest('solo', solo.digest, ['only']), 'deleted');
      assert.equal(await s.repositoryExists('solo'), false);
      assert.deepEqual(await s.listRepositories({}), ['e']);
    });

    // --- settings, audit, usage -----------------------------------------------------------

    contractCase('settings are put, replaced, listed and deleted per kind and target', async ({ settings: s }) => {
      // Documents are stored as given, whitespace and key order included.
      const a = '{ "rules": [ {"b": 1, "a": 2} ] }';
      assert.equal(await s.getSetting('lifecycle', 'team/*'), undefined);
      await s.putSetting('lifecycle', 'team/*', a, T0);
      assert.deepEqual(await s.getSetting('lifecycle', 'team/*'), { target: 'team/*', document: a, updatedAt: T0 });
      await s.putSetting('lifecycle', 'team/*', '{"v":"é ✓"}', T0 + 1);
      assert.deepEqual(await s.getSetting('lifecycle', 'team/*'), { target: 'team/*', document: '{"v":"é ✓"}', updatedAt: T0 + 1 });
      await s.putSetting('lifecycle', 'team/app', '{"app":1}', T0 + 2);
      await s.putSetting('immutability', 'team/*', '{"imm":1}', T0 + 3);
      assert.equal(await s.getSetting('quota', 'team/*'), undefined);
      assert.equal(await s.getSetting('lifecycle', 'team'), undefined);
      assert.deepEqual(byTarget(await s.listSettings('lifecycle')), [
        { target: 'team/*', document: '{"v":"é ✓"}', updatedAt: T0 + 1 },
        { target: 'team/app', document: '{"app":1}', updatedAt: T0 + 2 },
      ]);
      assert.deepEqual(await s.listSettings('immutability'), [{ target: 'team/*', document: '{"imm":1}', updatedAt: T0 + 3 }]);
      assert.deepEqual(await s.listSettings('quota'), []);

      assert.equal(await s.deleteSetting('lifecycle', 'team/*'), true);
      assert.equal(await s.deleteSetting('lifecycle', 'team/*'), false);
      assert.equal(await s.deleteSetting('quota', 'team/*'), false);
      assert.equal(await s.getSetting('lifecycle', 'team/*'), undefined);
      assert.deepEqual(await s.getSetting('immutability', 'team/*'), { target: 'team/*', document: '{"imm":1}', updatedAt: T0 + 3 });
      assert.deepEqual(await s.listSettings('lifecycle'), [{ target: 'team/app', document: '{"app":1}', updatedAt: T0 + 2 }]);
    });

    contractCase('the audit log lists newest first, at most limit, and round-trips detail', async ({ settings: s }) => {
      const entries: Omit<AuditEntry, 'id'>[] = [
        { at: T0, actor: 'alice', action: 'policy.put', target: 'team/*', detail: { rules: [{ n: 1, tags: ['a', 'b'] }], ok: true } },
        { at: T0 + 1, actor: 'bob', action: 'gc.run', target: '', detail: null },
        { at: T0 + 2, actor: 'alice', action: 'tag.delete', target: 'team/app:v1', detail: 'plain string ✓' },
      ];
      await s.appendAudit([]);
      assert.deepEqual(await s.listAudit(10), []);
      await s.appendAudit(entries.slice(0, 2));
      await s.appendAudit(entries.slice(2));
      await s.appendAudit([{ at: T0 + 3, actor: 'carol', action: 'quota.put', target: 'team', detail: [1, 2.5, -3] }]);
      const all = await s.listAudit(10);
      assert.equal(new Set(all.map((e) => e.id)).size, 4, 'ids are distinct');
      // Only the fields this case wrote are compared: optional fields it did not set are another suite's business.
      assert.deepEqual(
        all.map(({ at, actor, action, target, detail }) => ({ at, actor, action, target, detail })),
        [{ at: T0 + 3, actor: 'carol', action: 'quota.put', target: 'team', detail: [1, 2.5, -3] }, ...[...entries].reverse()],
      );
      assert.deepEqual(await s.listAudit(2), all.slice(0, 2));
      assert.deepEqual(await s.listAudit(1), all.slice(0, 1));
    });

    contractCase('usage counts unique blobs per repository and per project, tags and manifests', async ({ meta, settings }) => {
      const link = (repo: string, b: string, size: number, at = T0) => meta.linkBlob(repo, dg(b), size, at);
      const put = async (m: NewManifest) => assert.deepEqual(await meta.putManifest(m), { missing: [] });
      await link('team/a', 'cfg', 100);
      await link('team/a', 'l1', 1000);
      await link('team/a', 'shared', 5000);
      await link('team/a', 'young', 60, T0 + 5); // unreferenced but young: counts
      await put(manifest('team/a', 'ma', { size: 300, blobReferences: [dg('cfg'), dg('l1'), dg('shared')], tag: 'v1' }));
      await put(manifest('team/a', 'ma', { size: 300, blobReferences: [dg('cfg'), dg('l1'), dg('shared')], tag: 'v2' }));
      await link('team/b', 'shared', 5000);
      await link('team/b', 'l2', 2000);
      await link('team/b', 'old', 7000, T0 - 1); // unreferenced and older than since: does not count
      await put(manifest('team/b', 'mb', { size: 400, blobReferences: [dg('shared'), dg('l2')], tag: 'latest' }));
      await put(manifest('team/b', 'mb2', { size: 450, blobReferences: [dg('l2')] }));
      await link('teamx/c', 'shared', 5000);
      await put(manifest('teamx/c', 'mc', { size: 250, blobReferences: [dg('shared')], tag: 't' }));
      await link('solo', 'z', 10);

      const teamA = { repository: 'team/a', blobs: 5, bytes: 100 + 1000 + 5000 + 60 + 300, tags: 2, manifests: 1 };
      const teamB = { repository: 'team/b', blobs: 4, bytes: 5000 + 2000 + 400 + 450, tags: 1, manifests: 2 };
      const team: ProjectUsage = {
        project: 'team', blobs: 8, bytes: 100 + 1000 + 5000 + 60 + 300 + 2000 + 400 + 450, tags: 3, manifests: 3, repositories: [teamA, teamB],
      };
      const teamx: ProjectUsage = {
        project: 'teamx', blobs: 2, bytes: 5250, tags: 1, manifests: 1, repositories: [{ repository: 'teamx/c', blobs: 2, bytes: 5250, tags: 1, manifests: 1 }],
      };
      const solo: ProjectUsage = {
        project: 'solo', blobs: 1, bytes: 10, tags: 0, manifests: 0, repositories: [{ repository: 'solo', blobs: 1, bytes: 10, tags: 0, manifests: 0 }],
      };
      assert.deepEqual(normaliseUsage(await settings.usage(T0)), normaliseUsage([team, teamx, solo]));
      assert.deepEqual(normaliseUsage(await settings.usage(T0, 'team')), [team]);
      assert.deepEqual(normaliseUsage(await settings.usage(T0, 'teamx')), [teamx]);
      assert.deepEqual(await settings.usage(T0, 'tea'), []);
      for (const p of [team, teamx, solo]) assert.equal(await meta.projectBytes(p.project, T0), p.bytes, p.project);

      // With an earlier `since` the old link counts too.
      const teamB2 = { ...teamB, blobs: 5, bytes: teamB.bytes + 7000 };
      assert.deepEqual(normaliseUsage(await settings.usage(T0 - 1, 'team')), [
        { ...team, blobs: 9, bytes: team.bytes + 7000, repositories: [teamA, teamB2] },
      ]);
      assert.equal(await settings.projectTags('team'), 3);
      assert.equal(await settings.projectTags('teamx'), 1);
      assert.equal(await settings.projectTags('tea'), 0);
    });

    // --- scan reports and signature checks ------------------------------------------------

    contractCase('scan reports are kept per manifest digest; stale ones are listed by generation', async ({ scans }) => {
      const rec = (seed: string, generation: number, status: ScanRecord['status'] = 'done'): ScanRecord => ({
        digest: dg(seed),
        status,
        generation,
        scannedAt: T0 + generation,
        counts: { critical: 1, high: 2, medium: 3, low: 4, unknown: 5 },
        report: JSON.stringify({ seed }),
      });
      assert.equal(await scans.getScan(dg('a')), undefined);
      for (const r of [rec('a', 1), rec('b', 2), rec('c', 1, 'failed'), rec('d', 3)]) await scans.putScan(r);
      assert.deepEqual(await scans.getScan(dg('a')), rec('a', 1));
      const stale = [dg('a'), dg('b')].sort();
      // Generation 3: a and b were matched against older databases; c failed (nothing to match), d is current.
      assert.deepEqual(await scans.staleScans(3, 10), stale);
      assert.deepEqual(await scans.staleScans(3, 1), stale.slice(0, 1));
      assert.deepEqual(await scans.staleScans(3, 10, stale[0]), stale.slice(1));
      await scans.putScan({ ...rec('a', 3), report: '{"again":true}' });
      assert.equal((await scans.getScan(dg('a')))?.report, '{"again":true}');
      assert.deepEqual(await scans.staleScans(3, 10), [dg('b')]);
    });

    contractCase('a signature check is kept per repository and digest, replaced and forgotten', async ({ scans }) => {
      const check = { repository: 'team/app', digest: dg('img'), trustVersion: 'v1', checkedAt: T0, verified: true, result: '{"ok":1}' };
      await scans.putSignatureCheck(check);
      assert.deepEqual(await scans.getSignatureCheck('team/app', dg('img')), check);
      assert.equal(await scans.getSignatureCheck('team/other', dg('img')), undefined);
      await scans.putSignatureCheck({ ...check, trustVersion: 'v2', verified: false, result: '{}' });
      assert.deepEqual(await scans.getSignatureCheck('team/app', dg('img')), { ...check, trustVersion: 'v2', verified: false, result: '{}' });
      await scans.deleteSignatureCheck('team/app', dg('img'));
      assert.equal(await scans.getSignatureCheck('team/app', dg('img')), undefined);
    });

    // --- the pull-through cache -----------------------------------------------------------

    contractCase('a cached manifest is recorded before its blobs and children (referencesOnDemand), which count once present', async ({ meta: s }) => {
      const repo = 'hub/library/node';
      const child = manifest(repo, 'child', { blobReferences: [dg('cfg'), dg('layer')], now: T0 + 1, referencesOnDemand: true });
      const index = manifest(repo, 'index', {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        size: 300,
        manifestReferences: [child.digest],
        tag: '20',
        now: T0,
        referencesOnDemand: true,
      });
      // A push (no flag) is refused with what is missing, and writes nothing.
      assert.deepEqual(await s.putManifest({ ...index, referencesOnDemand: undefined }), { missing: [child.digest] });
      assert.equal(await s.repositoryExists(repo), false);
      // The cache records the index and its tag at once, and the child without its blobs.
      assert.deepEqual(await s.putManifest(index), { missing: [] });
      assert.equal((await s.resolveTag(repo, '20'))?.digest, index.digest);
      assert.deepEqual(await s.putManifest(child), { missing: [] });
      // Only manifests so far: 300 + 500 bytes. A blob counts once it is linked (fetched).
      assert.equal(await s.projectBytes('hub', Number.MAX_SAFE_INTEGER), 800);
      await s.linkBlob(repo, dg('cfg'), 40, T0 + 2);
      assert.equal(await s.projectBytes('hub', Number.MAX_SAFE_INTEGER), 840);
      // The references hold as for a push: the index lists the child, which cannot go before the index.
      const images = await s.listImages(repo);
      assert.deepEqual(images.find((i) => i.digest === index.digest)?.children, [child.digest]);
      assert.equal(await s.expireManifest(repo, child.digest, []), 'changed');
      assert.equal(await s.expireManifest(repo, index.digest, ['20']), 'deleted');
      assert.equal(await s.expireManifest(repo, child.digest, []), 'deleted');
      // The fetched blob's link no longer counts when nothing references it.
      assert.equal(await s.projectBytes('hub', Number.MAX_SAFE_INTEGER), 0);
    });
  });
}

// --- helpers ---------------------------------------------------------------------------

function dg(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** A NewManifest whose digest is derived from `seed` alone. */
function manifest(repository: string, seed: string, over: Partial<NewManifest> = {}): NewManifest {
  return {
    repository,
    digest: dg(`manifest:${seed}`),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 500,
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

const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sorted = (xs: string[]) => [...xs].sort(cmp);
const byTarget = <T extends { target: string }>(xs: T[]) => [...xs].sort((a, b) => cmp(a.target, b.target));

/** The interfaces promise no order for images, their tags and children: compare sorted. */
function normaliseImages(xs: ImageRecord[]): ImageRecord[] {
  return xs.map((i) => ({ ...i, tags: sorted(i.tags), children: sorted(i.children) })).sort((a, b) => cmp(a.digest, b.digest));
}

function normaliseUsage(xs: ProjectUsage[]): ProjectUsage[] {
  return xs
    .map((p) => ({ ...p, repositories: [...p.repositories].sort((a, b) => cmp(a.repository, b.repository)) }))
    .sort((a, b) => cmp(a.project, b.project));
}
