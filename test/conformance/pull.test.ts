/**
 * OCI distribution-spec v1.1 conformance, category 1: Pull.
 * "Pulling manifests", "Pulling blobs", "Checking if content exists in the
 * registry", end-1 to end-3, and RFC 9110 range requests on blobs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { blob, randomBlob, sha256 } from '../helpers/oci.js';
import {
  OciClient,
  describeReply,
  withQuery,
} from '../helpers/conformance-client.js';
import {
  expectContentDigest,
  expectError,
  expectErrorOneOf,
} from '../helpers/conformance-assert.js';
import {
  MediaTypes,
  descriptor,
  freshBlob,
  freshImage,
  imageIndex,
  manifestDescriptor,
  sha512,
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

describe('pull: API version check (end-1)', () => {
  test('GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0', async () => {
    const r = await c.get('/v2/');
    assert.equal(r.status, 200, describeReply(r));
    assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
  });

});

describe('pull: manifests (end-3)', () => {
  test('GET by tag and by digest returns the exact pushed bytes with type, digest and length', async () => {
    const repo = uniqueRepo('pull/manifest');
    const img = freshImage({ layers: 2 });
    await c.pushImage(repo, 'v1', img);
    const expected = sha256(img.manifest.bytes);
    for (const ref of ['v1', expected]) {
      const r = await c.getManifest(repo, ref);
      assert.equal(r.status, 200, describeReply(r));
      assert.equal(r.header('content-type'), MediaTypes.ociManifest, 'Content-Type is the pushed media type');
      assert.equal(r.header('docker-content-digest'), expected, 'Docker-Content-Digest is sha256 of the pushed bytes');
      assert.equal(r.header('content-length'), String(img.manifest.size));
      assert.ok(r.body.equals(img.manifest.bytes), 'body is byte-identical to what was pushed');
    }
  });

  test('HEAD by tag and by digest: 200, headers of the GET, no body', async () => {
    const repo = uniqueRepo('pull/manifest-head');
    const img = freshImage();
    await c.pushImage(repo, 'latest', img);
    for (const ref of ['latest', img.manifest.digest]) {
      const r = await c.getManifest(repo, ref, 'HEAD');
      assert.equal(r.status, 200, describeReply(r));
      assert.equal(r.header('content-type'), MediaTypes.ociManifest);
      assert.equal(r.header('docker-content-digest'), img.manifest.digest);
      assert.equal(r.header('content-length'), String(img.manifest.size), 'HEAD Content-Length is the manifest size');
      assert.equal(r.body.length, 0, 'HEAD has no body');
    }
  });

  test('bytes are kept exactly: whitespace, key order and unknown fields survive', async () => {
    const repo = uniqueRepo('pull/exact');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const cfg = descriptor(img.config, MediaTypes.ociConfig);
    const layer = descriptor(img.layers[0]!, MediaTypes.ociLayer);
    // Hand-written JSON: odd spacing, layers before config, an unknown top-level field, a trailing newline.
    const text =
      `{\n   "layers" : [ ${JSON.stringify(layer)} ],\n\t"schemaVersion": 2,` +
      `"x-custom": {"nested": [1, 2.50, "\\u00e9"]},\n "config":${JSON.stringify(cfg)} ,` +
      `"mediaType":"${MediaTypes.ociManifest}"}\n`;
    const m = blob(text);
    await c.mustPutManifest(repo, 'odd', m);
    const r = await c.getManifest(repo, 'odd');
    assert.equal(r.status, 200, describeReply(r));
    assert.ok(r.body.equals(m.bytes), 'the registry stores the manifest in the exact byte representation');
    assert.equal(r.header('docker-content-digest'), sha256(m.bytes));
  });

  test('an OCI image index is served with its own media type', async () => {
    const repo = uniqueRepo('pull/index');
    const a = freshImage();
    const b = freshImage();
    await c.pushImage(repo, a.manifest.digest, a);
    await c.pushImage(repo, b.manifest.digest, b);
    const idx = imageIndex({
      manifests: [
        manifestDescriptor(a, { platform: { architecture: 'amd64', os: 'linux' } }),
        manifestDescriptor(b, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
      ],
    });
    await c.mustPutManifest(repo, 'multi', idx, MediaTypes.ociIndex);
    for (const ref of ['multi', idx.digest]) {
      const r = await c.getManifest(repo, ref);
      assert.equal(r.status, 200, describeReply(r));
      assert.equal(r.header('content-type'), MediaTypes.ociIndex);
      assert.ok(r.body.equals(idx.bytes));
      expectContentDigest(r, idx.bytes, idx.digest);
    }
  });

  test('a retag moves the tag; the old manifest stays pullable by digest', async () => {
    const repo = uniqueRepo('pull/retag');
    const one = freshImage();
    const two = freshImage();
    await c.pushImage(repo, 'stable', one);
    await c.pushImage(repo, 'stable', two);
    const byTag = await c.getManifest(repo, 'stable');
    assert.equal(byTag.status, 200);
    assert.ok(byTag.body.equals(two.manifest.bytes), 'tag points at the last manifest pushed to it');
    const old = await c.getManifest(repo, one.manifest.digest);
    assert.equal(old.status, 200, describeReply(old));
    assert.ok(old.body.equals(one.manifest.bytes));
  });

  test('unknown tag and unknown digest: 404 MANIFEST_UNKNOWN (GET) and 404 (HEAD)', async () => {
    const repo = uniqueRepo('pull/unknown');
    await c.pushImage(repo, 'present', freshImage());
    const missingDigest = sha256('no manifest has these bytes ' + repo);
    for (const ref of ['absent', missingDigest]) {
      expectError(await c.getManifest(repo, ref), 404, 'MANIFEST_UNKNOWN', `GET ${ref}`);
      const h = await c.getManifest(repo, ref, 'HEAD');
      assert.equal(h.status, 404, describeReply(h));
      assert.equal(h.body.length, 0);
    }
  });

  test('a manifest in an unknown repository: 404 (NAME_UNKNOWN or MANIFEST_UNKNOWN)', async () => {
    const r = await c.getManifest(uniqueRepo('pull/never-pushed'), 'latest');
    expectErrorOneOf(r, [
      [404, 'NAME_UNKNOWN'],
      [404, 'MANIFEST_UNKNOWN'],
    ]);
  });

  test('a manifest pushed to repository A is unknown through repository B', async () => {
    const a = uniqueRepo('pull/iso-a');
    const b = uniqueRepo('pull/iso-b');
    const img = freshImage();
    await c.pushImage(a, 'v1', img);
    await c.pushImage(b, 'other', freshImage());
    expectError(await c.getManifest(b, img.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    expectError(await c.getManifest(b, 'v1'), 404, 'MANIFEST_UNKNOWN');
  });
});

describe('pull: blobs (end-2)', () => {
  test('GET returns the bytes with Content-Length, Docker-Content-Digest and an ETag', async () => {
    const repo = uniqueRepo('pull/blob');
    const b = randomBlob(10_000, 7);
    await c.mustPushBlob(repo, b);
    const r = await c.getBlob(repo, b.digest);
    assert.equal(r.status, 200, describeReply(r));
    assert.ok(r.body.equals(b.bytes), 'body is the blob');
    assert.equal(r.header('content-length'), String(b.size));
    expectContentDigest(r, b.bytes, b.digest);
    const etag = r.header('etag');
    assert.ok(etag, 'ETag present');
    assert.match(etag, /^(W\/)?"[^"]*"$/, 'ETag is an RFC 9110 entity-tag');
  });

  test('HEAD: 200, Content-Length of the blob, digest and the same ETag, no body', async () => {
    const repo = uniqueRepo('pull/blob-head');
    const b = freshBlob(4321);
    await c.mustPushBlob(repo, b);
    const g = await c.getBlob(repo, b.digest);
    const h = await c.getBlob(repo, b.digest, {}, 'HEAD');
    assert.equal(h.status, 200, describeReply(h));
    assert.equal(h.header('content-length'), String(b.size));
    assert.equal(h.header('docker-content-digest'), b.digest);
    assert.equal(h.header('etag'), g.header('etag'), 'HEAD and GET report the same ETag');
    assert.equal(h.body.length, 0);
  });

  test('different blobs have different ETags', async () => {
    const repo = uniqueRepo('pull/etag');
    const x = freshBlob(100);
    const y = freshBlob(100);
    await c.mustPushBlob(repo, x);
    await c.mustPushBlob(repo, y);
    const ex = (await c.getBlob(repo, x.digest, {}, 'HEAD')).header('etag');
    const ey = (await c.getBlob(repo, y.digest, {}, 'HEAD')).header('etag');
    assert.ok(ex && ey);
    assert.notEqual(ex, ey);
  });

  test('the empty blob (0 bytes) can be pushed and pulled', async () => {
    const repo = uniqueRepo('pull/empty-blob');
    const e = blob(Buffer.alloc(0));
    assert.equal(e.digest, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await c.mustPushBlob(repo, e);
    const r = await c.getBlob(repo, e.digest);
    assert.equal(r.status, 200, describeReply(r));
    assert.equal(r.body.length, 0);
    assert.equal(r.header('content-length'), '0');
  });

  test('unknown blob: 404 BLOB_UNKNOWN (GET) and 404 without body (HEAD)', async () => {
    const repo = uniqueRepo('pull/blob-unknown');
    await c.mustPushBlob(repo, freshBlob());
    const missing = sha256('never pushed ' + repo);
    expectError(await c.getBlob(repo, missing), 404, 'BLOB_UNKNOWN');
    const h = await c.getBlob(repo, missing, {}, 'HEAD');
    assert.equal(h.status, 404, describeReply(h));
    assert.equal(h.body.length, 0);
  });

  test('a blob pushed to repository A is BLOB_UNKNOWN through repository B', async () => {
    const a = uniqueRepo('pull/blob-a');
    const b = uniqueRepo('pull/blob-b');
    const secret = freshBlob(300);
    await c.mustPushBlob(a, secret);
    await c.mustPushBlob(b, freshBlob(300)); // B exists, with other content
    expectError(await c.getBlob(b, secret.digest), 404, 'BLOB_UNKNOWN');
    const h = await c.getBlob(b, secret.digest, {}, 'HEAD');
    assert.equal(h.status, 404);
    // ...and through a repository that does not exist at all.
    expectErrorOneOf(await c.getBlob(uniqueRepo('pull/blob-none'), secret.digest), [
      [404, 'BLOB_UNKNOWN'],
      [404, 'NAME_UNKNOWN'],
    ]);
  });

  test('sha512: a blob pushed with a sha512 digest is stored and fetched by it', async () => {
    const repo = uniqueRepo('pull/sha512');
    const bytes = freshBlob(2048).bytes;
    const d = sha512(bytes);
    const push = await c.post(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(d)}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(push.status, 201, describeReply(push));
    assert.ok(push.header('location'), 'Location of the pushed blob');
    const r = await c.getBlob(repo, d);
    assert.equal(r.status, 200, describeReply(r));
    assert.ok(r.body.equals(bytes));
    assert.equal(r.header('content-length'), String(bytes.length));
    // When present, Docker-Content-Digest MUST match the body (either algorithm).
    if (r.header('docker-content-digest') !== undefined) expectContentDigest(r, bytes);
    const h = await c.getBlob(repo, d, {}, 'HEAD');
    assert.equal(h.status, 200);
    // The Location the push returned is pullable.
    const viaLocation = await c.get(push.header('location')!);
    assert.equal(viaLocation.status, 200, describeReply(viaLocation));
    assert.ok(viaLocation.body.equals(bytes));
  });

  test('sha512: a chunked upload completed with a sha512 digest', async () => {
    const repo = uniqueRepo('pull/sha512-chunked');
    const bytes = freshBlob(3000).bytes;
    const d = sha512(bytes);
    const { location } = await c.startUpload(repo);
    const p = await c.patch(location, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${bytes.length - 1}` },
      body: bytes,
    });
    assert.equal(p.status, 202, describeReply(p));
    const put = await c.put(withQuery(c.target(p.header('location')!), { digest: d }));
    assert.equal(put.status, 201, describeReply(put));
    const r = await c.getBlob(repo, d);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(bytes));
  });

  test('the blob of a pulled manifest: every descriptor resolves to bytes of its digest and size', async () => {
    const repo = uniqueRepo('pull/walk');
    const img = freshImage({ layers: 3 });
    await c.pushImage(repo, 'v1', img);
    const m = (await c.getManifest(repo, 'v1')).json<{ config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> }>();
    for (const d of [m.config, ...m.layers]) {
      const r = await c.getBlob(repo, d.digest);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, d.size);
      assert.equal(sha256(r.body), d.digest);
    }
  });

  test('a sha512 digest of bytes never pushed is BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('pull/sha512-unknown');
    await c.mustPushBlob(repo, freshBlob());
    expectError(await c.getBlob(repo, sha512('absent ' + repo)), 404, 'BLOB_UNKNOWN');
  });
});

describe('pull: range requests on blobs (RFC 9110 §14)', () => {
  const size = 1000;
  let repo: string;
  let b: ReturnType<typeof randomBlob>;
  before(async () => {
    repo = uniqueRepo('pull/range');
    b = randomBlob(size, 42);
    await c.mustPushBlob(repo, b);
  });

  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=100-199', 100, 199],
    ['bytes=999-999', 999, 999],
    ['bytes=990-', 990, 999],
    ['bytes=0-', 0, 999],
    ['bytes=-10', 990, 999],
    ['bytes=-1', 999, 999],
    // A last-pos past the end is clamped to the representation (RFC 9110 §14.1.2).
    ['bytes=500-5000', 500, 999],
    // A suffix longer than the representation selects all of it.
    ['bytes=-5000', 0, 999],
  ];
  for (const [range, first, last] of cases) {
    test(`Range: ${range} -> 206 bytes ${first}-${last}/${size}`, async () => {
      const r = await c.getBlob(repo, b.digest, { Range: range });
      assert.equal(r.status, 206, describeReply(r));
      assert.equal(r.header('content-range'), `bytes ${first}-${last}/${size}`);
      assert.equal(r.header('content-length'), String(last - first + 1));
      assert.ok(r.body.equals(b.bytes.subarray(first, last + 1)), 'body is the selected range');
    });
  }

  for (const range of ['bytes=1000-', 'bytes=1000-1005', 'bytes=5000-6000']) {
    test(`unsatisfiable Range: ${range} -> 416 with Content-Range: bytes */${size}`, async () => {
      const r = await c.getBlob(repo, b.digest, { Range: range });
      assert.equal(r.status, 416, describeReply(r));
      assert.equal(r.header('content-range'), `bytes */${size}`);
      expectError(r, 416, 'RANGE_INVALID');
    });
  }

  test('a Range with a unit the server does not know is ignored: 200 with the whole blob', async () => {
    const r = await c.getBlob(repo, b.digest, { Range: 'items=0-5' });
    assert.equal(r.status, 200, describeReply(r));
    assert.ok(r.body.equals(b.bytes));
  });

  test('ranges reassemble into the whole blob (resumable pull)', async () => {
    const parts: Buffer[] = [];
    for (let start = 0; start < size; start += 300) {
      const end = Math.min(start + 299, size - 1);
      const r = await c.getBlob(repo, b.digest, { Range: `bytes=${start}-${end}` });
      assert.equal(r.status, 206, describeReply(r));
      parts.push(r.body);
    }
    assert.equal(sha256(Buffer.concat(parts)), b.digest);
  });
});
