/**
 * OCI distribution-spec v1.1 conformance, category 4: Content Management.
 * "Deleting tags", "Deleting Manifests", "Deleting Blobs" (end-9, end-10),
 * and the same requests against a registry with deletion switched off
 * (BERTH_REGISTRY_DELETE_ENABLED=false: 405 UNSUPPORTED, nothing changes).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { sha256 } from '../helpers/oci.js';
import {
  OciClient,
  describeReply,
} from '../helpers/conformance-client.js';
import {
  expectError,
  expectErrorOneOf,
} from '../helpers/conformance-assert.js';
import {
  MediaTypes,
  freshBlob,
  freshImage,
  imageIndex,
  manifestDescriptor,
  uniqueRepo,
} from '../helpers/conformance-fixtures.js';

let server: TestServer;
let c: OciClient;

before(async () => {
  server = await startServer();
  c = new OciClient(server.url);
});
after(async () => {
  await server?.stop();
});

describe('management: deleting manifests (end-9)', () => {
  test('DELETE by digest: 202, then GET/HEAD 404 MANIFEST_UNKNOWN and every tag of it is gone', async () => {
    const repo = uniqueRepo('mgmt/del-digest');
    const img = freshImage();
    await c.pushImage(repo, 'v1', img);
    await c.mustPutManifest(repo, 'also', img.manifest);
    const keep = freshImage();
    await c.pushImage(repo, 'keep', keep);

    const d = await c.delete(`/v2/${repo}/manifests/${img.manifest.digest}`);
    assert.equal(d.status, 202, describeReply(d));
    expectError(await c.getManifest(repo, img.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await c.getManifest(repo, img.manifest.digest, 'HEAD')).status, 404);
    expectError(await c.getManifest(repo, 'v1'), 404, 'MANIFEST_UNKNOWN');
    expectError(await c.getManifest(repo, 'also'), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual(await c.tags(repo), ['keep'], 'tags of the deleted manifest are gone, others stay');
    const k = await c.getManifest(repo, 'keep');
    assert.equal(k.status, 200);
    assert.ok(k.body.equals(keep.manifest.bytes));
  });

  test('DELETE by tag: 202, removes only that tag; the manifest and its other tags stay', async () => {
    const repo = uniqueRepo('mgmt/del-tag');
    const img = freshImage();
    await c.pushImage(repo, 'a', img);
    await c.mustPutManifest(repo, 'b', img.manifest);
    const d = await c.delete(`/v2/${repo}/manifests/a`);
    assert.equal(d.status, 202, describeReply(d));
    expectError(await c.getManifest(repo, 'a'), 404, 'MANIFEST_UNKNOWN');
    const byB = await c.getManifest(repo, 'b');
    assert.equal(byB.status, 200);
    assert.ok(byB.body.equals(img.manifest.bytes));
    const byDigest = await c.getManifest(repo, img.manifest.digest);
    assert.equal(byDigest.status, 200, 'the manifest itself is not deleted with a tag');
    assert.deepEqual(await c.tags(repo), ['b']);
  });

  test('a manifest can be pushed again after it was deleted', async () => {
    const repo = uniqueRepo('mgmt/repush');
    const img = freshImage();
    await c.pushImage(repo, 'v1', img);
    assert.equal((await c.delete(`/v2/${repo}/manifests/${img.manifest.digest}`)).status, 202);
    await c.pushImage(repo, 'v1', img);
    const g = await c.getManifest(repo, 'v1');
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(img.manifest.bytes));
  });

  test('DELETE of a manifest that is not there: 404 MANIFEST_UNKNOWN (by digest and by tag)', async () => {
    const repo = uniqueRepo('mgmt/del-unknown');
    await c.pushImage(repo, 'present', freshImage());
    expectError(await c.delete(`/v2/${repo}/manifests/${sha256('absent ' + repo)}`), 404, 'MANIFEST_UNKNOWN');
    expectError(await c.delete(`/v2/${repo}/manifests/absent`), 404, 'MANIFEST_UNKNOWN');
  });

  test('DELETE twice: the second is 404 MANIFEST_UNKNOWN', async () => {
    const repo = uniqueRepo('mgmt/del-twice');
    const img = freshImage();
    await c.pushImage(repo, 'v1', img);
    assert.equal((await c.delete(`/v2/${repo}/manifests/${img.manifest.digest}`)).status, 202);
    expectError(await c.delete(`/v2/${repo}/manifests/${img.manifest.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('DELETE in a repository that does not exist: 404 (NAME_UNKNOWN or MANIFEST_UNKNOWN)', async () => {
    const repo = uniqueRepo('mgmt/no-such-repo');
    expectErrorOneOf(await c.delete(`/v2/${repo}/manifests/${sha256(repo)}`), [
      [404, 'NAME_UNKNOWN'],
      [404, 'MANIFEST_UNKNOWN'],
    ]);
  });

  test('deleting a manifest only affects its repository', async () => {
    const a = uniqueRepo('mgmt/iso-a');
    const b = uniqueRepo('mgmt/iso-b');
    const img = freshImage();
    await c.pushImage(a, 'v1', img);
    await c.pushImage(b, 'v1', img);
    assert.equal((await c.delete(`/v2/${a}/manifests/${img.manifest.digest}`)).status, 202);
    const g = await c.getManifest(b, 'v1');
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(img.manifest.bytes));
    const blobInB = await c.getBlob(b, img.layers[0]!.digest);
    assert.equal(blobInB.status, 200);
  });

  test('a deleted referrer leaves the referrers list', async () => {
    const repo = uniqueRepo('mgmt/referrer');
    const subject = freshImage();
    await c.pushImage(repo, 'app', subject);
    const sig = freshImage({ artifactType: 'application/vnd.example.signature.v1', subject: manifestDescriptor(subject) });
    const sbom = freshImage({ artifactType: 'application/vnd.example.sbom.v1', subject: manifestDescriptor(subject) });
    await c.pushImage(repo, sig.manifest.digest, sig);
    await c.pushImage(repo, sbom.manifest.digest, sbom);
    const before = (await c.get(`/v2/${repo}/referrers/${subject.manifest.digest}`)).json<{ manifests: Array<{ digest: string }> }>();
    assert.deepEqual(before.manifests.map((m) => m.digest).sort(), [sig.manifest.digest, sbom.manifest.digest].sort());
    assert.equal((await c.delete(`/v2/${repo}/manifests/${sig.manifest.digest}`)).status, 202);
    const r = await c.get(`/v2/${repo}/referrers/${subject.manifest.digest}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest), [sbom.manifest.digest]);
  });

  test('deleting an index leaves its child manifests pullable', async () => {
    const repo = uniqueRepo('mgmt/index-child');
    const child = freshImage();
    await c.pushImage(repo, child.manifest.digest, child);
    const idx = imageIndex({ manifests: [manifestDescriptor(child)] });
    await c.mustPutManifest(repo, 'multi', idx, MediaTypes.ociIndex);
    const d = await c.delete(`/v2/${repo}/manifests/${idx.digest}`);
    assert.equal(d.status, 202, describeReply(d));
    const g = await c.getManifest(repo, child.manifest.digest);
    assert.equal(g.status, 200, 'deleting an index does not delete its children');
  });
});

describe('management: deleting blobs (end-10)', () => {
  test('DELETE blob: 202, then GET 404 BLOB_UNKNOWN and HEAD 404', async () => {
    const repo = uniqueRepo('mgmt/del-blob');
    const b = freshBlob(1000);
    const other = freshBlob(1000);
    await c.mustPushBlob(repo, b);
    await c.mustPushBlob(repo, other);
    const d = await c.delete(`/v2/${repo}/blobs/${b.digest}`);
    assert.equal(d.status, 202, describeReply(d));
    expectError(await c.getBlob(repo, b.digest), 404, 'BLOB_UNKNOWN');
    assert.equal((await c.getBlob(repo, b.digest, {}, 'HEAD')).status, 404);
    const o = await c.getBlob(repo, other.digest);
    assert.equal(o.status, 200, 'other blobs stay');
    assert.ok(o.body.equals(other.bytes));
  });

  test('DELETE of an unknown blob: 404 BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('mgmt/del-blob-unknown');
    await c.mustPushBlob(repo, freshBlob());
    expectError(await c.delete(`/v2/${repo}/blobs/${sha256('absent ' + repo)}`), 404, 'BLOB_UNKNOWN');
  });

  test('deleting a blob in one repository leaves it in another', async () => {
    const a = uniqueRepo('mgmt/blob-a');
    const b = uniqueRepo('mgmt/blob-b');
    const x = freshBlob(2000);
    await c.mustPushBlob(a, x);
    await c.mustPushBlob(b, x);
    assert.equal((await c.delete(`/v2/${a}/blobs/${x.digest}`)).status, 202);
    expectError(await c.getBlob(a, x.digest), 404, 'BLOB_UNKNOWN');
    const g = await c.getBlob(b, x.digest);
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(x.bytes));
  });

  test('a deleted blob can be pushed again', async () => {
    const repo = uniqueRepo('mgmt/blob-again');
    const x = freshBlob(500);
    await c.mustPushBlob(repo, x);
    assert.equal((await c.delete(`/v2/${repo}/blobs/${x.digest}`)).status, 202);
    await c.mustPushBlob(repo, x);
    const g = await c.getBlob(repo, x.digest);
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(x.bytes));
  });
});

describe('management: deletion switched off (BERTH_REGISTRY_DELETE_ENABLED=false)', () => {
  let ro: TestServer;
  let rc: OciClient;
  before(async () => {
    ro = await startServer({ env: { BERTH_REGISTRY_DELETE_ENABLED: 'false' } });
    rc = new OciClient(ro.url);
  });
  after(async () => {
    await ro?.stop();
  });

  test('DELETE manifest by digest, by tag and DELETE blob: 405 UNSUPPORTED, and nothing changes', async () => {
    const repo = uniqueRepo('mgmt/no-delete');
    const img = freshImage();
    await rc.pushImage(repo, 'v1', img);
    const layer = img.layers[0]!;

    expectError(await rc.delete(`/v2/${repo}/manifests/${img.manifest.digest}`), 405, 'UNSUPPORTED', 'manifest by digest');
    expectError(await rc.delete(`/v2/${repo}/manifests/v1`), 405, 'UNSUPPORTED', 'tag');
    expectError(await rc.delete(`/v2/${repo}/blobs/${layer.digest}`), 405, 'UNSUPPORTED', 'blob');

    const byTag = await rc.getManifest(repo, 'v1');
    assert.equal(byTag.status, 200, describeReply(byTag));
    assert.ok(byTag.body.equals(img.manifest.bytes));
    assert.equal(byTag.header('docker-content-digest'), img.manifest.digest);
    assert.equal((await rc.getManifest(repo, img.manifest.digest)).status, 200);
    const b = await rc.getBlob(repo, layer.digest);
    assert.equal(b.status, 200);
    assert.ok(b.body.equals(layer.bytes));
    assert.deepEqual(await rc.tags(repo), ['v1']);
  });

  test('pushing and pulling still work with deletion off', async () => {
    const repo = uniqueRepo('mgmt/no-delete-push');
    const img = freshImage();
    await rc.pushImage(repo, 'v2', img);
    const g = await rc.getManifest(repo, 'v2');
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(img.manifest.bytes));
  });
});
