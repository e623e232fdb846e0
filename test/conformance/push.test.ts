/**
 * OCI distribution-spec v1.1 conformance, category 2: Push.
 * "Pushing blobs" (monolithic POST+PUT and single POST, chunked PATCH, status
 * GET, cancel, cross-repository mount) and "Pushing Manifests" (by tag and
 * by digest, validation, size limit, subject, Docker schema 2, artifacts).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { blob, sha256 } from '../helpers/oci.js';
import {
  OciClient,
  describeReply,
  withQuery,
  type Reply,
} from '../helpers/conformance-client.js';
import {
  expectContentDigest,
  expectError,
  expectRange,
  expectUploadHeaders,
} from '../helpers/conformance-assert.js';
import {
  MediaTypes,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  descriptor,
  freshBlob,
  freshImage,
  imageIndex,
  imageManifest,
  manifestDescriptor,
  paddedManifest,
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

/** Asserts the blob is pullable from `repo` with exactly `bytes`. */
async function expectBlob(repo: string, digest: string, bytes: Buffer): Promise<void> {
  const r = await c.getBlob(repo, digest);
  assert.equal(r.status, 200, `GET blob ${digest} in ${repo}: ${describeReply(r)}`);
  assert.ok(r.body.equals(bytes), 'blob bytes are what was pushed');
}

async function expectNoBlob(repo: string, digest: string): Promise<void> {
  const r = await c.getBlob(repo, digest, {}, 'HEAD');
  assert.equal(r.status, 404, `HEAD blob ${digest} in ${repo} should be 404: ${describeReply(r)}`);
}

/** The `Location` of a 201 blob reply is a pullable blob URL with the blob's bytes. */
async function expectPullableLocation(r: Reply, bytes: Buffer): Promise<void> {
  const loc = r.header('location');
  assert.ok(loc, `Location present: ${describeReply(r)}`);
  const g = await c.get(loc);
  assert.equal(g.status, 200, `GET Location ${loc}: ${describeReply(g)}`);
  assert.ok(g.body.equals(bytes), 'Location serves the pushed bytes');
}

function patchChunk(location: string, bytes: Buffer, start: number): Promise<Reply> {
  return c.patch(location, {
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Range': `${start}-${start + bytes.length - 1}`,
    },
    body: bytes,
  });
}

describe('push: monolithic blob upload', () => {
  test('POST then PUT: 202 with Location/Range/Docker-Upload-UUID, then 201 with a pullable Location', async () => {
    const repo = uniqueRepo('push/post-put');
    const b = freshBlob(5000);
    const { location, reply } = await c.startUpload(repo);
    expectUploadHeaders(c, reply, repo, 0, 'POST');
    const put = await c.put(withQuery(location, { digest: b.digest }), {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: b.bytes,
    });
    assert.equal(put.status, 201, describeReply(put));
    expectContentDigest(put, b.bytes, b.digest);
    await expectPullableLocation(put, b.bytes);
    await expectBlob(repo, b.digest, b.bytes);
  });

  test('single POST ?digest=: 201 with Location and Docker-Content-Digest', async () => {
    const repo = uniqueRepo('push/single-post');
    const b = freshBlob(7000);
    const r = await c.pushBlob(repo, b);
    assert.equal(r.status, 201, describeReply(r));
    expectContentDigest(r, b.bytes, b.digest);
    await expectPullableLocation(r, b.bytes);
  });

  test('pushing a blob that already exists succeeds again (layer de-duplication)', async () => {
    const repo = uniqueRepo('push/dedup');
    const b = freshBlob(100);
    await c.mustPushBlob(repo, b);
    const again = await c.pushBlob(repo, b);
    assert.equal(again.status, 201, describeReply(again));
    await expectBlob(repo, b.digest, b.bytes);
  });

  test('two uploads in one repository get different session UUIDs', async () => {
    const repo = uniqueRepo('push/uuids');
    const one = await c.startUpload(repo);
    const two = await c.startUpload(repo);
    assert.notEqual(one.reply.header('docker-upload-uuid'), two.reply.header('docker-upload-uuid'));
    assert.notEqual(one.location, two.location);
  });

  test('single POST with a digest that does not match the body: 400 DIGEST_INVALID, nothing stored', async () => {
    const repo = uniqueRepo('push/post-mismatch');
    const b = freshBlob(300);
    const claimed = sha256('other bytes ' + repo);
    expectError(await c.pushBlob(repo, b, claimed), 400, 'DIGEST_INVALID');
    await expectNoBlob(repo, claimed);
    await expectNoBlob(repo, b.digest);
  });

  test('PUT with a digest that does not match the uploaded bytes: 400 DIGEST_INVALID, nothing stored', async () => {
    const repo = uniqueRepo('push/put-mismatch');
    const b = freshBlob(300);
    const claimed = sha256('different ' + repo);
    const { location } = await c.startUpload(repo);
    const put = await c.put(withQuery(location, { digest: claimed }), {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: b.bytes,
    });
    expectError(put, 400, 'DIGEST_INVALID');
    await expectNoBlob(repo, claimed);
    await expectNoBlob(repo, b.digest);
  });
});

describe('push: chunked blob upload', () => {
  test('PATCH chunks with Content-Range: 202 with Location, Range and Docker-Upload-UUID on every reply', async () => {
    const repo = uniqueRepo('push/chunked');
    const b = freshBlob(10_000);
    let { location } = await c.startUpload(repo);
    const sizes = [4096, 4096, 1808];
    let offset = 0;
    for (const n of sizes) {
      const r = await patchChunk(location, b.bytes.subarray(offset, offset + n), offset);
      assert.equal(r.status, 202, describeReply(r));
      offset += n;
      location = expectUploadHeaders(c, r, repo, offset - 1, `PATCH to ${offset}`);
    }
    const put = await c.put(withQuery(location, { digest: b.digest }));
    assert.equal(put.status, 201, describeReply(put));
    expectContentDigest(put, b.bytes, b.digest);
    await expectPullableLocation(put, b.bytes);
  });

  test('GET upload status: 204 with Location, Range and Docker-Upload-UUID', async () => {
    const repo = uniqueRepo('push/status');
    const b = freshBlob(1500);
    const { location } = await c.startUpload(repo);
    const s0 = await c.get(location);
    assert.equal(s0.status, 204, describeReply(s0));
    expectUploadHeaders(c, s0, repo, 0, 'status of an empty upload');
    const p = await patchChunk(location, b.bytes.subarray(0, 1000), 0);
    assert.equal(p.status, 202, describeReply(p));
    const next = c.target(p.header('location')!);
    const s1 = await c.get(next);
    assert.equal(s1.status, 204, describeReply(s1));
    expectUploadHeaders(c, s1, repo, 999, 'status after 1000 bytes');
    assert.equal(s1.body.length, 0);
  });

  test('streamed PATCH without Content-Range (chunked transfer encoding), twice, then PUT', async () => {
    const repo = uniqueRepo('push/streamed');
    const b = freshBlob(9000);
    let { location } = await c.startUpload(repo);
    const first = await c.patch(location, {
      headers: { 'Content-Type': 'application/octet-stream' },
      chunks: [b.bytes.subarray(0, 1000), b.bytes.subarray(1000, 5000)],
    });
    assert.equal(first.status, 202, describeReply(first));
    location = expectUploadHeaders(c, first, repo, 4999, 'first streamed PATCH');
    // A second streamed PATCH appends; this one with a Content-Length and still no Content-Range.
    const second = await c.patch(location, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: b.bytes.subarray(5000),
    });
    assert.equal(second.status, 202, describeReply(second));
    location = expectUploadHeaders(c, second, repo, 8999, 'second streamed PATCH');
    const put = await c.put(withQuery(location, { digest: b.digest }));
    assert.equal(put.status, 201, describeReply(put));
    await expectBlob(repo, b.digest, b.bytes);
  });

  test('an out-of-order chunk is refused with 416 and the upload can continue from the reported Range', async () => {
    const repo = uniqueRepo('push/out-of-order');
    const b = freshBlob(300);
    const { location } = await c.startUpload(repo);
    const p1 = await patchChunk(location, b.bytes.subarray(0, 100), 0);
    assert.equal(p1.status, 202, describeReply(p1));
    let loc = c.target(p1.header('location')!);
    // Skips bytes 100-199.
    const gap = await patchChunk(loc, b.bytes.subarray(200, 300), 200);
    expectError(gap, 416, 'RANGE_INVALID', 'chunk past the offset');
    // Re-sends bytes 0-99.
    const overlap = await patchChunk(loc, b.bytes.subarray(0, 100), 0);
    expectError(overlap, 416, 'RANGE_INVALID', 'chunk before the offset');
    const s = await c.get(loc);
    assert.equal(s.status, 204, describeReply(s));
    expectRange(s, 99, 'status after the refused chunks');
    loc = c.target(s.header('location')!);
    const p2 = await patchChunk(loc, b.bytes.subarray(100, 300), 100);
    assert.equal(p2.status, 202, describeReply(p2));
    const put = await c.put(withQuery(c.target(p2.header('location')!), { digest: b.digest }));
    assert.equal(put.status, 201, describeReply(put));
    await expectBlob(repo, b.digest, b.bytes);
  });

  test('the last chunk can travel in the closing PUT (with and without Content-Range)', async () => {
    const repo = uniqueRepo('push/put-last');
    for (const withRange of [true, false]) {
      const b = freshBlob(2500);
      const { location } = await c.startUpload(repo);
      const p = await patchChunk(location, b.bytes.subarray(0, 2000), 0);
      assert.equal(p.status, 202, describeReply(p));
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      if (withRange) headers['Content-Range'] = '2000-2499';
      const put = await c.put(withQuery(c.target(p.header('location')!), { digest: b.digest }), {
        headers,
        body: b.bytes.subarray(2000),
      });
      assert.equal(put.status, 201, `withRange=${withRange}: ${describeReply(put)}`);
      expectContentDigest(put, b.bytes, b.digest);
      await expectBlob(repo, b.digest, b.bytes);
    }
  });

  test('a chunked upload whose final digest does not match: 400 DIGEST_INVALID', async () => {
    const repo = uniqueRepo('push/chunked-mismatch');
    const b = freshBlob(600);
    const { location } = await c.startUpload(repo);
    const p = await patchChunk(location, b.bytes, 0);
    assert.equal(p.status, 202, describeReply(p));
    const wrong = sha256(Buffer.concat([b.bytes, Buffer.from('x')]));
    const put = await c.put(withQuery(c.target(p.header('location')!), { digest: wrong }));
    expectError(put, 400, 'DIGEST_INVALID');
    await expectNoBlob(repo, wrong);
    await expectNoBlob(repo, b.digest);
  });

  test('DELETE of an upload: 204, then the session is 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const repo = uniqueRepo('push/cancel');
    const b = freshBlob(200);
    const { location } = await c.startUpload(repo);
    const p = await patchChunk(location, b.bytes.subarray(0, 100), 0);
    assert.equal(p.status, 202);
    const loc = c.target(p.header('location')!);
    const d = await c.delete(loc);
    assert.equal(d.status, 204, describeReply(d));
    expectError(await c.get(loc), 404, 'BLOB_UPLOAD_UNKNOWN', 'status after cancel');
    expectError(await patchChunk(loc, b.bytes.subarray(100), 100), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH after cancel');
    expectError(await c.put(withQuery(loc, { digest: b.digest }), { body: b.bytes.subarray(100) }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT after cancel');
    expectError(await c.delete(loc), 404, 'BLOB_UPLOAD_UNKNOWN', 'second DELETE');
    await expectNoBlob(repo, b.digest);
  });

  test('a completed upload session is gone: 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const repo = uniqueRepo('push/completed');
    const b = freshBlob(50);
    const { location } = await c.startUpload(repo);
    const put = await c.put(withQuery(location, { digest: b.digest }), { body: b.bytes });
    assert.equal(put.status, 201, describeReply(put));
    expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('push: cross-repository mount (end-11)', () => {
  test('mount of a blob that is in `from`: 201 with Location and Docker-Content-Digest', async () => {
    const src = uniqueRepo('push/mount-src');
    const dst = uniqueRepo('push/mount-dst');
    const b = freshBlob(1234);
    await c.mustPushBlob(src, b);
    const r = await c.post(`/v2/${dst}/blobs/uploads/?mount=${encodeURIComponent(b.digest)}&from=${encodeURIComponent(src)}`, {
      headers: { 'Content-Length': 0 },
    });
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('docker-content-digest'), b.digest);
    await expectPullableLocation(r, b.bytes);
    await expectBlob(dst, b.digest, b.bytes);
    await expectBlob(src, b.digest, b.bytes);
  });

  test('mount of a blob that is not in `from`: 202 with an upload session that works', async () => {
    const src = uniqueRepo('push/mount-empty-src');
    const dst = uniqueRepo('push/mount-fallback');
    await c.mustPushBlob(src, freshBlob(10)); // `from` exists but lacks the blob
    const b = freshBlob(777);
    const r = await c.post(`/v2/${dst}/blobs/uploads/?mount=${encodeURIComponent(b.digest)}&from=${encodeURIComponent(src)}`, {
      headers: { 'Content-Length': 0 },
    });
    assert.equal(r.status, 202, describeReply(r));
    const loc = expectUploadHeaders(c, r, dst, 0, 'mount fallback');
    await expectNoBlob(dst, b.digest);
    const put = await c.put(withQuery(loc, { digest: b.digest }), { body: b.bytes });
    assert.equal(put.status, 201, describeReply(put));
    await expectBlob(dst, b.digest, b.bytes);
  });

  test('mount from a repository that does not exist: 202 with an upload session', async () => {
    const dst = uniqueRepo('push/mount-nowhere');
    const b = freshBlob(30);
    const r = await c.post(`/v2/${dst}/blobs/uploads/?mount=${encodeURIComponent(b.digest)}&from=${uniqueRepo('push/absent')}`, {
      headers: { 'Content-Length': 0 },
    });
    assert.equal(r.status, 202, describeReply(r));
    expectUploadHeaders(c, r, dst, 0, 'mount from nowhere');
  });
});

describe('push: manifests (end-7)', () => {
  test('PUT by tag: 201 with a pullable Location and Docker-Content-Digest', async () => {
    const repo = uniqueRepo('push/manifest-tag');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const r = await c.putManifest(repo, 'v1.0', img.manifest.bytes);
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('docker-content-digest'), sha256(img.manifest.bytes));
    const loc = r.header('location');
    assert.ok(loc, 'Location present');
    const g = await c.get(loc, { headers: { Accept: MediaTypes.ociManifest } });
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(img.manifest.bytes));
  });

  test('PUT by digest: 201 with Location and the same Docker-Content-Digest', async () => {
    const repo = uniqueRepo('push/manifest-digest');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const d = sha256(img.manifest.bytes);
    const r = await c.putManifest(repo, d, img.manifest.bytes);
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('docker-content-digest'), d);
    const g = await c.get(r.header('location')!, { headers: { Accept: MediaTypes.ociManifest } });
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(img.manifest.bytes));
    // No tag was created.
    assert.deepEqual(await c.tags(repo), []);
  });

  test('PUT by a sha512 digest: 201 and Docker-Content-Digest is that digest', async () => {
    const repo = uniqueRepo('push/manifest-sha512');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const d = sha512(img.manifest.bytes);
    const r = await c.putManifest(repo, d, img.manifest.bytes);
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('docker-content-digest'), d, 'MUST be equal to the client provided digest');
    const g = await c.getManifest(repo, d);
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(img.manifest.bytes));
  });

  test('PUT by digest whose bytes do not match: 400 DIGEST_INVALID and nothing stored', async () => {
    const repo = uniqueRepo('push/manifest-digest-mismatch');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    // The digest of the bytes plus trailing whitespace (as the OCI conformance "bad digest image" does).
    const claimed = sha256(Buffer.concat([img.manifest.bytes, Buffer.from('  ')]));
    expectError(await c.putManifest(repo, claimed, img.manifest.bytes), 400, 'DIGEST_INVALID');
    expectError(await c.getManifest(repo, claimed), 404, 'MANIFEST_UNKNOWN');
    expectError(await c.getManifest(repo, img.manifest.digest), 404, 'MANIFEST_UNKNOWN');
  });

  test('a manifest whose layer was never pushed: 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('push/missing-layer');
    const img = freshImage({ layers: 2 });
    await c.mustPushBlob(repo, img.config);
    await c.mustPushBlob(repo, img.layers[0]!);
    expectError(await c.putManifest(repo, 'v1', img.manifest.bytes), 400, 'MANIFEST_BLOB_UNKNOWN');
    expectError(await c.getManifest(repo, 'v1'), 404, 'MANIFEST_UNKNOWN');
  });

  test('a manifest whose config was never pushed: 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('push/missing-config');
    const img = freshImage();
    for (const l of img.layers) await c.mustPushBlob(repo, l);
    expectError(await c.putManifest(repo, 'v1', img.manifest.bytes), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index whose child manifest is missing: 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const repo = uniqueRepo('push/index-missing-child');
    const present = freshImage();
    await c.pushImage(repo, 'present', present);
    const absent = freshImage();
    const idx = imageIndex({ manifests: [manifestDescriptor(present), manifestDescriptor(absent)] });
    expectError(await c.putManifest(repo, 'multi', idx.bytes, MediaTypes.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
    expectError(await c.getManifest(repo, 'multi'), 404, 'MANIFEST_UNKNOWN');
  });

  test('an index of indexes, and a manifest pushed only by digest as a child', async () => {
    const repo = uniqueRepo('push/nested-index');
    const a = freshImage();
    const b = freshImage();
    await c.pushImage(repo, a.manifest.digest, a);
    await c.pushImage(repo, b.manifest.digest, b);
    const inner = imageIndex({ manifests: [manifestDescriptor(a, { platform: { os: 'linux', architecture: 'amd64' } })] });
    await c.mustPutManifest(repo, inner.digest, inner, MediaTypes.ociIndex);
    const outer = imageIndex({ manifests: [descriptor(inner, MediaTypes.ociIndex), manifestDescriptor(b)] });
    await c.mustPutManifest(repo, 'nested', outer, MediaTypes.ociIndex);
    const g = await c.getManifest(repo, 'nested');
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(outer.bytes));
  });

  const invalid: Array<[string, string]> = [
    ['not JSON', '{"schemaVersion": 2, '],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['empty body', ''],
    ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: EMPTY_JSON_DIGEST, size: 2 }, layers: [] })],
    ['no schemaVersion', JSON.stringify({ mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: EMPTY_JSON_DIGEST, size: 2 }, layers: [] })],
    ['no config', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, layers: [] })],
    ['layers is not an array', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: EMPTY_JSON_DIGEST, size: 2 }, layers: {} })],
    ['config digest is not a digest', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: 'nope', size: 2 }, layers: [] })],
    ['config without mediaType', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { digest: EMPTY_JSON_DIGEST, size: 2 }, layers: [] })],
    ['index with manifests not an array', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: 'x' })],
  ];
  for (const [what, body] of invalid) {
    test(`invalid manifest (${what}): 400 MANIFEST_INVALID`, async () => {
      const repo = uniqueRepo('push/invalid');
      await c.mustPushBlob(repo, EMPTY_JSON);
      const ct = what.startsWith('index') ? MediaTypes.ociIndex : MediaTypes.ociManifest;
      expectError(await c.putManifest(repo, 'bad', body, ct), 400, 'MANIFEST_INVALID', what);
      expectError(await c.getManifest(repo, 'bad'), 404, 'MANIFEST_UNKNOWN');
    });
  }

  test('a manifest of exactly 4 MiB and one of 4,000,000 bytes are accepted', async () => {
    const repo = uniqueRepo('push/big-ok');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const cfg = descriptor(img.config, MediaTypes.ociConfig);
    const layers = img.layers.map((l) => descriptor(l, MediaTypes.ociLayer));
    for (const size of [4_000_000, 4 * 1024 * 1024]) {
      const m = paddedManifest(cfg, layers, size);
      const r = await c.putManifest(repo, `size-${size}`, m.bytes);
      assert.equal(r.status, 201, `${size} bytes: ${describeReply(r)}`);
      const g = await c.getManifest(repo, `size-${size}`);
      assert.equal(g.status, 200);
      assert.equal(sha256(g.body), m.digest);
    }
  });

  test('a manifest over 4 MiB: 413 with an error body', async () => {
    const repo = uniqueRepo('push/too-big');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const m = paddedManifest(
      descriptor(img.config, MediaTypes.ociConfig),
      img.layers.map((l) => descriptor(l, MediaTypes.ociLayer)),
      4 * 1024 * 1024 + 1,
    );
    expectError(await c.putManifest(repo, 'huge', m.bytes), 413, 'MANIFEST_INVALID');
    expectError(await c.getManifest(repo, 'huge'), 404, 'MANIFEST_UNKNOWN');
    // The server is still serving.
    assert.equal((await c.get('/v2/')).status, 200);
  });
});

describe('push: concurrency', () => {
  test('the same blob pushed by 12 clients at once (monolithic and chunked): all succeed', async () => {
    const repo = uniqueRepo('push/race-blob');
    const b = freshBlob(64 * 1024);
    const monolithic = Array.from({ length: 8 }, () => c.pushBlob(repo, b));
    const chunked = Array.from({ length: 4 }, async () => {
      const { location } = await c.startUpload(repo);
      const p = await patchChunk(location, b.bytes.subarray(0, 40_000), 0);
      assert.equal(p.status, 202, describeReply(p));
      return c.put(withQuery(c.target(p.header('location')!), { digest: b.digest }), { body: b.bytes.subarray(40_000) });
    });
    const replies = await Promise.all([...monolithic, ...chunked]);
    for (const r of replies) assert.equal(r.status, 201, describeReply(r));
    await expectBlob(repo, b.digest, b.bytes);
  });

  test('the same blob pushed into 4 repositories at once: each sees it', async () => {
    const repos = Array.from({ length: 4 }, () => uniqueRepo('push/race-repos'));
    const b = freshBlob(32 * 1024);
    const replies = await Promise.all(repos.flatMap((r) => [c.pushBlob(r, b), c.pushBlob(r, b)]));
    for (const r of replies) assert.equal(r.status, 201, describeReply(r));
    for (const r of repos) await expectBlob(r, b.digest, b.bytes);
  });

  test('six different manifests pushed to the same tag at once: all 201, the tag ends on one of them', async () => {
    const repo = uniqueRepo('push/race-tag');
    const imgs = Array.from({ length: 6 }, () => freshImage());
    for (const img of imgs) for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const replies = await Promise.all(imgs.map((img) => c.putManifest(repo, 'race', img.manifest.bytes)));
    for (const r of replies) assert.equal(r.status, 201, describeReply(r));
    const g = await c.getManifest(repo, 'race');
    assert.equal(g.status, 200);
    const winner = imgs.find((img) => img.manifest.bytes.equals(g.body));
    assert.ok(winner, 'the tag resolves to one of the pushed manifests');
    assert.equal(g.header('docker-content-digest'), winner.manifest.digest);
    for (const img of imgs) {
      const r = await c.getManifest(repo, img.manifest.digest);
      assert.equal(r.status, 200, 'every manifest stays pullable by digest');
    }
    assert.deepEqual(await c.tags(repo), ['race']);
  });

  test('one manifest pushed under 8 tags at once: every tag exists', async () => {
    const repo = uniqueRepo('push/race-tags');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const tags = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const replies = await Promise.all(tags.map((t) => c.putManifest(repo, t, img.manifest.bytes)));
    for (const r of replies) assert.equal(r.status, 201, describeReply(r));
    assert.deepEqual(await c.tags(repo), [...tags].sort());
  });
});

describe('push: other manifest formats', () => {
  test('Docker image manifest v2 schema 2 and manifest list keep their media types', async () => {
    const repo = uniqueRepo('push/docker');
    const layer = freshBlob(700);
    const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
    await c.mustPushBlob(repo, layer);
    await c.mustPushBlob(repo, config);
    const m = imageManifest({
      mediaType: MediaTypes.dockerManifest,
      config: descriptor(config, MediaTypes.dockerConfig),
      layers: [descriptor(layer, MediaTypes.dockerLayer)],
    });
    const r = await c.putManifest(repo, 'docker', m.bytes, MediaTypes.dockerManifest);
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('docker-content-digest'), m.digest);
    const list = imageIndex({
      mediaType: MediaTypes.dockerList,
      manifests: [descriptor(m, MediaTypes.dockerManifest, { platform: { architecture: 'amd64', os: 'linux' } })],
    });
    const rl = await c.putManifest(repo, 'list', list.bytes, MediaTypes.dockerList);
    assert.equal(rl.status, 201, describeReply(rl));
    for (const [ref, want, mt] of [
      ['docker', m, MediaTypes.dockerManifest],
      ['list', list, MediaTypes.dockerList],
    ] as const) {
      const g = await c.getManifest(repo, ref);
      assert.equal(g.status, 200, describeReply(g));
      assert.equal(g.header('content-type'), mt);
      assert.ok(g.body.equals(want.bytes));
      assert.equal(g.header('docker-content-digest'), want.digest);
    }
  });

  test('an artifact with artifactType and the empty config application/vnd.oci.empty.v1+json', async () => {
    const repo = uniqueRepo('push/artifact');
    // image-spec "Guidance for an Empty Descriptor": `{}`, 2 bytes, this digest.
    assert.equal(EMPTY_JSON.size, 2);
    assert.equal(sha256('{}'), EMPTY_JSON_DIGEST);
    const payload = freshBlob(123);
    await c.mustPushBlob(repo, EMPTY_JSON);
    await c.mustPushBlob(repo, payload);
    const m = imageManifest({
      artifactType: 'application/vnd.example.thing.v1',
      config: descriptor(EMPTY_JSON, MediaTypes.ociEmpty),
      layers: [descriptor(payload, 'application/vnd.example.thing.layer.v1+tar', { annotations: { 'org.opencontainers.image.title': 'thing.tar' } })],
      annotations: { 'org.example.purpose': 'conformance' },
    });
    const r = await c.putManifest(repo, 'thing', m.bytes);
    assert.equal(r.status, 201, describeReply(r));
    const g = await c.getManifest(repo, 'thing');
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(m.bytes));
    await expectBlob(repo, EMPTY_JSON_DIGEST, Buffer.from('{}'));
  });

  test('an artifact whose only layer is the empty descriptor', async () => {
    const repo = uniqueRepo('push/artifact-empty-layer');
    await c.mustPushBlob(repo, EMPTY_JSON);
    const m = imageManifest({
      artifactType: 'application/vnd.example.marker.v1',
      config: descriptor(EMPTY_JSON, MediaTypes.ociEmpty),
      layers: [descriptor(EMPTY_JSON, MediaTypes.ociEmpty)],
    });
    const r = await c.putManifest(repo, 'marker', m.bytes);
    assert.equal(r.status, 201, describeReply(r));
  });

  test('a manifest with a subject: 201 with OCI-Subject set to the subject digest', async () => {
    const repo = uniqueRepo('push/subject');
    const subject = freshImage();
    await c.pushImage(repo, 'app', subject);
    const sig = freshImage({ artifactType: 'application/vnd.example.signature.v1', subject: manifestDescriptor(subject) });
    for (const b of [sig.config, ...sig.layers]) await c.mustPushBlob(repo, b);
    const r = await c.putManifest(repo, sig.manifest.digest, sig.manifest.bytes);
    assert.equal(r.status, 201, describeReply(r));
    assert.equal(r.header('oci-subject'), subject.manifest.digest);
  });

  test('a referrer pushed before its subject is accepted (OCI-Subject set), and the subject after it', async () => {
    const repo = uniqueRepo('push/subject-first');
    const subject = freshImage();
    const sbom = freshImage({ artifactType: 'application/vnd.example.sbom.v1', subject: manifestDescriptor(subject) });
    for (const b of [sbom.config, ...sbom.layers]) await c.mustPushBlob(repo, b);
    const r = await c.putManifest(repo, sbom.manifest.digest, sbom.manifest.bytes);
    assert.equal(r.status, 201, `a registry MUST initially accept a manifest whose subject does not exist: ${describeReply(r)}`);
    assert.equal(r.header('oci-subject'), subject.manifest.digest);
    await c.pushImage(repo, 'later', subject);
    const g = await c.getManifest(repo, sbom.manifest.digest);
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(sbom.manifest.bytes));
  });

  test('a manifest without subject does not get OCI-Subject', async () => {
    const repo = uniqueRepo('push/no-subject');
    const img = freshImage();
    for (const b of [img.config, ...img.layers]) await c.mustPushBlob(repo, b);
    const r = await c.putManifest(repo, 'plain', img.manifest.bytes);
    assert.equal(r.status, 201);
    assert.equal(r.header('oci-subject'), undefined);
  });
});
