/**
 * OCI distribution-spec v1.1 conformance: hostile and malformed input.
 * Every request here is wrong on purpose. Each test checks the spec's answer
 * (status, `errors[0].code`, JSON error body) and then that the server is still
 * up and that a known image pushed at the start is unchanged, byte for byte.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { blob, sha256, type Image } from '../helpers/oci.js';
import {
  OciClient,
  describeReply,
  withQuery,
  type Reply,
} from '../helpers/conformance-client.js';
import {
  expectError,
  expectErrorOneOf,
  expectRange,
} from '../helpers/conformance-assert.js';
import {
  MediaTypes,
  EMPTY_JSON_DIGEST,
  descriptor,
  freshBlob,
  freshImage,
  imageManifest,
  uniqueRepo,
} from '../helpers/conformance-fixtures.js';
import {
  rawExchange,
  rawToReply,
} from '../helpers/conformance-raw.js';

const KNOWN_REPO = 'stable/known';
const KNOWN_TAG = 'v1';

let server: TestServer;
let c: OciClient;
let known: Image;

before(async () => {
  server = await startServer();
  c = new OciClient(server.url);
  known = freshImage({ layers: 2 });
  await c.pushImage(KNOWN_REPO, KNOWN_TAG, known);
});
after(async () => {
  await server?.stop();
});

/** The process is up, answers /v2/, and the known image is unchanged. */
async function assertIntact(): Promise<void> {
  assert.equal(server.proc.exitCode, null, `server exited:\n${server.output().slice(-2000)}`);
  const v2 = await c.get('/v2/');
  assert.equal(v2.status, 200, `GET /v2/ after the bad request: ${describeReply(v2)}`);
  for (const ref of [KNOWN_TAG, known.manifest.digest]) {
    const m = await c.getManifest(KNOWN_REPO, ref);
    assert.equal(m.status, 200, `known manifest ${ref}: ${describeReply(m)}`);
    assert.ok(m.body.equals(known.manifest.bytes), 'known manifest bytes unchanged');
    assert.equal(m.header('docker-content-digest'), known.manifest.digest);
  }
  for (const b of [known.config, ...known.layers]) {
    const r = await c.getBlob(KNOWN_REPO, b.digest);
    assert.equal(r.status, 200, `known blob ${b.digest}: ${describeReply(r)}`);
    assert.equal(sha256(r.body), b.digest, 'known blob bytes unchanged');
  }
}

/** A test whose bad request must leave the server up and the known image intact. */
function bad(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    await fn();
    await assertIntact();
  });
}

const NOT_FOUND = ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN'].map((code) => [404, code] as const);
/** Where no route matches any more: a 404 with one of the spec's codes ("the operation is unsupported" included). */
const NO_ROUTE = [...NOT_FOUND, [404, 'UNSUPPORTED'] as const];

/** A valid manifest for the known repository's blobs, different from the known one. */
function anotherManifest(): ReturnType<typeof blob> {
  return imageManifest({
    config: descriptor(known.config, MediaTypes.ociConfig),
    layers: [descriptor(known.layers[1]!, MediaTypes.ociLayer)],
    annotations: { other: randomBytes(4).toString('hex') },
  });
}

function raw(method: string, path: string, headers: Record<string, string | number>, body: string | Buffer = ''): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${c.port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body)]);
}

describe('bad input: malformed manifests (pushed over the known tag)', () => {
  const cfg = { mediaType: MediaTypes.ociConfig, digest: EMPTY_JSON_DIGEST, size: 2 };
  const m = (over: Record<string, unknown>) => JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: cfg, layers: [], ...over });
  const cases: Array<[string, string | Buffer]> = [
    ['truncated JSON', m({}).slice(0, -5)],
    ['a JSON string', '"manifest"'],
    ['a JSON number', '42'],
    ['a JSON array', '[{"schemaVersion":2}]'],
    ['JSON null', 'null'],
    ['an empty body', ''],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['NUL bytes', Buffer.from([0x00, 0x00, 0x00, 0x00])],
    ['deeply nested arrays', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['schemaVersion as a string', m({ schemaVersion: '2' })],
    ['schemaVersion 1 (Docker schema 1)', m({ schemaVersion: 1 })],
    ['config size as a string', m({ config: { ...cfg, size: '2' } })],
    ['negative config size', m({ config: { ...cfg, size: -1 } })],
    ['fractional config size', m({ config: { ...cfg, size: 1.5 } })],
    ['config digest with upper-case hex', m({ config: { ...cfg, digest: EMPTY_JSON_DIGEST.toUpperCase().replace('SHA256', 'sha256') } })],
    ['config digest too short', m({ config: { ...cfg, digest: 'sha256:abc' } })],
    ['config mediaType not a media type', m({ config: { ...cfg, mediaType: 'not a media type' } })],
    ['config as an array', m({ config: [cfg] })],
    ['a null layer', m({ layers: [null] })],
    ['annotations with a number value', m({ annotations: { a: 1 } })],
    ['subject that is not a descriptor', m({ subject: 'sha256:abc' })],
  ];
  for (const [what, body] of cases) {
    bad(`${what}: 400 MANIFEST_INVALID`, async () => {
      const r = await c.putManifest(KNOWN_REPO, KNOWN_TAG, typeof body === 'string' ? Buffer.from(body) : body);
      expectError(r, 400, 'MANIFEST_INVALID', what);
    });
  }

  bad('a manifest over the size limit sent to the known tag: 413, known tag unchanged', async () => {
    const big = imageManifest({
      config: descriptor(known.config, MediaTypes.ociConfig),
      layers: [],
      annotations: { pad: 'x'.repeat(5 * 1024 * 1024) },
    });
    expectError(await c.putManifest(KNOWN_REPO, KNOWN_TAG, big.bytes), 413, 'MANIFEST_INVALID');
  });
});

describe('bad input: wrong digests', () => {
  const hex = sha256('x').slice('sha256:'.length);
  const malformed: Array<[string, string]> = [
    ['hex too short', 'sha256:abc'],
    ['hex too long', `sha256:${hex}00`],
    ['upper-case hex', `sha256:${hex.toUpperCase()}`],
    ['upper-case algorithm', `SHA256:${hex}`],
    ['non-hex characters', `sha256:${'g'.repeat(64)}`],
    ['sha512 with sha256 length', `sha512:${hex}`],
    ['empty hex', 'sha256:'],
  ];
  for (const [what, d] of malformed) {
    bad(`GET/HEAD/DELETE blob with a digest with ${what}: 400 DIGEST_INVALID`, async () => {
      expectError(await c.getBlob(KNOWN_REPO, d), 400, 'DIGEST_INVALID', `GET ${d}`);
      const h = await c.getBlob(KNOWN_REPO, d, {}, 'HEAD');
      assert.equal(h.status, 400, `HEAD ${d}: ${describeReply(h)}`);
      expectError(await c.delete(`/v2/${KNOWN_REPO}/blobs/${d}`), 400, 'DIGEST_INVALID', `DELETE ${d}`);
    });
    bad(`monolithic POST ?digest= with ${what}: 400 DIGEST_INVALID, nothing stored`, async () => {
      const b = freshBlob(64);
      expectError(await c.pushBlob(KNOWN_REPO, b, d), 400, 'DIGEST_INVALID');
      assert.equal((await c.getBlob(KNOWN_REPO, b.digest, {}, 'HEAD')).status, 404);
    });
    bad(`closing PUT ?digest= with ${what}: 400 DIGEST_INVALID`, async () => {
      const { location } = await c.startUpload(KNOWN_REPO);
      const b = freshBlob(64);
      expectError(await c.put(withQuery(location, { digest: d }), { body: b.bytes }), 400, 'DIGEST_INVALID');
      assert.equal((await c.getBlob(KNOWN_REPO, b.digest, {}, 'HEAD')).status, 404);
    });
    bad(`manifest reference with ${what}: 400 (GET, PUT, DELETE)`, async () => {
      // Neither a digest nor a tag (distribution-spec "Pulling manifests": <reference> MUST be one of them).
      const codes = [[400, 'DIGEST_INVALID'], [400, 'TAG_INVALID']] as const;
      expectErrorOneOf(await c.getManifest(KNOWN_REPO, d), codes, `GET ${d}`);
      expectErrorOneOf(await c.putManifest(KNOWN_REPO, d, known.manifest.bytes), codes, `PUT ${d}`);
      expectErrorOneOf(await c.delete(`/v2/${KNOWN_REPO}/manifests/${d}`), codes, `DELETE ${d}`);
    });
  }

  bad('an algorithm berth cannot verify (md5): push refused with 400 DIGEST_INVALID', async () => {
    const b = freshBlob(64);
    const md5 = 'md5:' + 'a'.repeat(32);
    expectError(await c.pushBlob(KNOWN_REPO, b, md5), 400, 'DIGEST_INVALID');
    expectErrorOneOf(await c.getBlob(KNOWN_REPO, md5), [
      [400, 'DIGEST_INVALID'],
      [404, 'BLOB_UNKNOWN'],
    ]);
  });

  bad('something that is not a digest at all in the blob path: 400 DIGEST_INVALID or 404', async () => {
    expectErrorOneOf(await c.getBlob(KNOWN_REPO, 'latest'), [[400, 'DIGEST_INVALID'], ...NOT_FOUND]);
  });

  bad('closing PUT without ?digest=: 400, and the upload is not completed', async () => {
    const { location } = await c.startUpload(KNOWN_REPO);
    const b = freshBlob(64);
    expectErrorOneOf(await c.put(location, { body: b.bytes }), [
      [400, 'DIGEST_INVALID'],
      [400, 'BLOB_UPLOAD_INVALID'],
    ]);
    assert.equal((await c.getBlob(KNOWN_REPO, b.digest, {}, 'HEAD')).status, 404);
  });
});

describe('bad input: wrong sizes and Content-Length lies', () => {
  // The bytes past Content-Length are, to the server, the start of a next request; they are chosen to be a
  // valid request-line prefix ("GET /") so that the HTTP parser waits instead of refusing the connection.
  bad('POST ?digest= with Content-Length smaller than the body: 400 DIGEST_INVALID, nothing stored', async () => {
    const b = blob(`${randomBytes(8).toString('hex')}GET /`);
    const repo = uniqueRepo('bad/cl-short');
    const res = await rawExchange(
      c.port,
      raw('POST', `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(b.digest)}`, { 'Content-Type': 'application/octet-stream', 'Content-Length': b.size - 5 }, b.bytes),
      { firstResponseOnly: true },
    );
    expectError(rawToReply(res), 400, 'DIGEST_INVALID');
    assert.equal((await c.getBlob(repo, b.digest, {}, 'HEAD')).status, 404);
    assert.equal((await c.getBlob(repo, sha256(b.bytes.subarray(0, b.size - 5)), {}, 'HEAD')).status, 404);
  });

  bad('manifest PUT with Content-Length shorter than the body: 400 MANIFEST_INVALID; known tag unchanged', async () => {
    const other = anotherManifest();
    const res = await rawExchange(
      c.port,
      raw('PUT', `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`, { 'Content-Type': MediaTypes.ociManifest, 'Content-Length': other.size - 10 }, Buffer.concat([other.bytes.subarray(0, other.size - 10), Buffer.from('GET /')])),
      { firstResponseOnly: true },
    );
    expectError(rawToReply(res), 400, 'MANIFEST_INVALID');
  });

  for (const [what, headers] of [
    ['a non-numeric Content-Length', { 'Content-Length': 'abc' }],
    ['a negative Content-Length', { 'Content-Length': '-5' }],
    ['both Content-Length and Transfer-Encoding: chunked', { 'Content-Length': 5, 'Transfer-Encoding': 'chunked' }],
  ] as const) {
    bad(`blob POST with ${what}: 400`, async () => {
      const b = freshBlob(5);
      const res = await rawExchange(
        c.port,
        raw('POST', `/v2/${KNOWN_REPO}/blobs/uploads/?digest=${encodeURIComponent(b.digest)}`, { ...headers, Connection: 'close' }, b.bytes),
      );
      // Refused by the HTTP parser before the registry sees it, so the body need not be the registry's JSON.
      assert.equal(res.status, 400, res.raw.slice(0, 500));
      assert.equal((await c.getBlob(KNOWN_REPO, b.digest, {}, 'HEAD')).status, 404);
    });
  }

  bad('PATCH whose Content-Range length disagrees with Content-Length: refused, the session keeps no bytes', async () => {
    const repo = uniqueRepo('bad/range-vs-length');
    const { location } = await c.startUpload(repo);
    const r = await c.patch(location, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-99' },
      body: freshBlob(50).bytes,
    });
    expectErrorOneOf(r, [
      [400, 'SIZE_INVALID'],
      [400, 'BLOB_UPLOAD_INVALID'],
      [416, 'RANGE_INVALID'],
    ]);
    const s = await c.get(location);
    if (s.status !== 404) {
      assert.equal(s.status, 204, describeReply(s));
      expectRange(s, 0, 'session after the refused chunk');
    }
  });

  bad('a garbage request line: 400 from the HTTP layer', async () => {
    const res = await rawExchange(c.port, 'GARBAGE\r\n\r\n');
    assert.equal(res.status, 400, res.raw.slice(0, 300));
  });

  bad('a 100 kB request target: refused (414/431/400/404), not a crash', async () => {
    const res = await rawExchange(c.port, raw('GET', `/v2/${KNOWN_REPO}/manifests/${'a'.repeat(100_000)}`, { Connection: 'close' }));
    assert.ok(res.status !== undefined && [400, 404, 414, 431].includes(res.status), res.raw.slice(0, 300));
  });
});

describe('bad input: path traversal in names, digests and upload ids', () => {
  const marker = `berth-traversal-${randomBytes(6).toString('hex')}`;

  bad('/v2/../../../../etc/passwd: 404, no file content', async () => {
    for (const p of ['/v2/../../../../etc/passwd', '/v2/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/v2/..%2f..%2f..%2fetc%2fpasswd']) {
      const r = await c.get(p);
      assert.ok(!r.text().includes('root:'), `${p} leaked a file`);
      expectErrorOneOf(r, [[400, 'NAME_INVALID'], ...NO_ROUTE], p);
    }
  });

  bad('..%2f in a repository name: 400 NAME_INVALID', async () => {
    for (const p of [
      `/v2/..%2f..%2f..%2fetc/manifests/${KNOWN_TAG}`,
      `/v2/stable/known/..%2f..%2fknown/manifests/${KNOWN_TAG}`,
      `/v2/..%2F${KNOWN_REPO}/tags/list`,
      `/v2/stable%2F..%2F..%2Fetc/blobs/${known.layers[0]!.digest}`,
    ]) {
      expectError(await c.get(p), 400, 'NAME_INVALID', p);
    }
  });

  bad('`..` and `%2e%2e` segments in a repository name: 400 NAME_INVALID, or 404 when the route no longer matches', async () => {
    for (const p of [
      `/v2/stable/../../../../tmp/manifests/${KNOWN_TAG}`,
      `/v2/%2e%2e/manifests/${KNOWN_TAG}`,
      `/v2/stable/%2e%2e/%2e%2e/etc/tags/list`,
      `/v2/stable/known/%2e%2e/%2e%2e/%2e%2e/blobs/${known.layers[0]!.digest}`,
    ]) {
      const r = await c.get(p);
      expectErrorOneOf(r, [[400, 'NAME_INVALID'], ...NO_ROUTE], p);
    }
  });

  bad('an encoded slash in the name is the same name or an invalid one, never another repository', async () => {
    const r = await c.getManifest('stable%2Fknown', KNOWN_TAG);
    if (r.status === 200) {
      assert.ok(r.body.equals(known.manifest.bytes));
    } else {
      expectErrorOneOf(r, [[400, 'NAME_INVALID'], ...NOT_FOUND]);
    }
  });

  bad('traversal in the digest position: 400 DIGEST_INVALID (or 404 when it is not digest-shaped)', async () => {
    expectError(await c.get(`/v2/${KNOWN_REPO}/blobs/sha256:..%2f..%2f..%2fetc%2fpasswd`), 400, 'DIGEST_INVALID');
    expectError(await c.get(`/v2/${KNOWN_REPO}/blobs/sha256:${'..%2f'.repeat(12)}x`), 400, 'DIGEST_INVALID');
    for (const p of [`/v2/${KNOWN_REPO}/blobs/..%2f..%2f..%2fetc%2fpasswd`, `/v2/${KNOWN_REPO}/blobs/%2e%2e`]) {
      const r = await c.get(p);
      assert.ok(!r.text().includes('root:'));
      expectErrorOneOf(r, [[400, 'DIGEST_INVALID'], ...NO_ROUTE], p);
    }
  });

  bad('traversal in the manifest reference: 400 TAG_INVALID', async () => {
    expectError(await c.get(`/v2/${KNOWN_REPO}/manifests/..%2f..%2f..%2fetc%2fpasswd`), 400, 'TAG_INVALID');
    expectError(await c.putManifest(KNOWN_REPO, `..%2f..%2f${marker}`, known.manifest.bytes), 400, 'TAG_INVALID');
  });

  bad('traversal in the upload id: 404 BLOB_UPLOAD_UNKNOWN for every method, and no file is written outside', async () => {
    const b = freshBlob(16);
    for (const id of [`..%2f..%2f..%2f${marker}`, `..%2F..%2F${marker}`, `%2e%2e%2f%2e%2e%2f${marker}`]) {
      const loc = `/v2/${KNOWN_REPO}/blobs/uploads/${id}`;
      const codes = [[404, 'BLOB_UPLOAD_UNKNOWN'], [400, 'BLOB_UPLOAD_INVALID']] as const;
      expectErrorOneOf(await c.get(loc), codes, `GET ${id}`);
      expectErrorOneOf(
        await c.patch(loc, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-15' }, body: b.bytes }),
        codes,
        `PATCH ${id}`,
      );
      expectErrorOneOf(await c.put(withQuery(loc, { digest: b.digest }), { body: b.bytes }), codes, `PUT ${id}`);
      expectErrorOneOf(await c.delete(loc), codes, `DELETE ${id}`);
    }
    for (let dir = server.dataDir, i = 0; i < 4; i++, dir = join(dir, '..')) {
      assert.equal(existsSync(join(dir, marker)), false, `${join(dir, marker)} must not exist`);
    }
    assert.equal((await c.getBlob(KNOWN_REPO, b.digest, {}, 'HEAD')).status, 404);
  });

  bad('mount with a traversal in `from`: never 201', async () => {
    const target = uniqueRepo('bad/mount-into');
    const r = await c.post(
      `/v2/${target}/blobs/uploads/?mount=${encodeURIComponent(known.layers[0]!.digest)}&from=${encodeURIComponent('../' + KNOWN_REPO)}`,
      { headers: { 'Content-Length': 0 } },
    );
    if (r.status === 202) {
      assert.ok(r.header('location'), 'a 202 opens an upload session');
    } else {
      expectError(r, 400, 'NAME_INVALID');
    }
    assert.equal((await c.getBlob(target, known.layers[0]!.digest, {}, 'HEAD')).status, 404);
  });
});

describe('bad input: invalid repository names', () => {
  const invalid: Array<[string, string]> = [
    ['upper case', 'Stable/Known'],
    ['a leading separator', '_stable/known'],
    ['a trailing separator', 'stable-/known'],
    ['two dots', 'stable..known'],
    ['three underscores', 'stable___known'],
    ['a dot and a dash', 'stable.-known'],
    ['a space', 'stable%20known'],
    ['non-ASCII', 'caf%C3%A9'],
    ['256 characters', 'a'.repeat(256)],
    ['256 characters over two components', `${'a'.repeat(127)}/${'b'.repeat(128)}`],
  ];
  for (const [what, name] of invalid) {
    bad(`name with ${what}: 400 NAME_INVALID on manifests, blobs, uploads and tags`, async () => {
      expectError(await c.getManifest(name, 'latest'), 400, 'NAME_INVALID', 'GET manifest');
      expectError(await c.putManifest(name, 'latest', known.manifest.bytes), 400, 'NAME_INVALID', 'PUT manifest');
      expectError(await c.getBlob(name, known.layers[0]!.digest), 400, 'NAME_INVALID', 'GET blob');
      expectError(await c.post(`/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID', 'POST upload');
      expectError(await c.get(`/v2/${name}/tags/list`), 400, 'NAME_INVALID', 'tags list');
    });
  }

  bad('a trailing slash or an empty component: 400 NAME_INVALID or 404 when the route cannot match', async () => {
    for (const p of [`/v2/stable/known//manifests/${KNOWN_TAG}`, '/v2/stable//known/tags/list', '/v2//stable/known/blobs/uploads/']) {
      const method = p.endsWith('/uploads/') ? 'POST' : 'GET';
      const r = await c.request(method, p);
      expectErrorOneOf(r, [[400, 'NAME_INVALID'], ...NO_ROUTE], p);
    }
  });

  test('valid edge-case names are accepted: 255 characters, `__`, `--`, dots, many components', async () => {
    for (const name of ['a'.repeat(255), `${'a'.repeat(127)}/${'b'.repeat(127)}`, 'x__y', 'x--y', 'x.y_z-w', 'a/b/c/d/e/f/g', '0/1']) {
      const r = await c.pushBlob(name, freshBlob(8));
      assert.equal(r.status, 201, `${name.slice(0, 40)}…: ${describeReply(r)}`);
    }
  });
});

describe('bad input: invalid tags', () => {
  const invalidTags = ['-bad', '.bad', 't'.repeat(129), 'bad%20tag', 'b@d', 'tag%00'];
  for (const tag of invalidTags) {
    bad(`tag ${tag.length > 20 ? `of ${tag.length} characters` : JSON.stringify(tag)}: 400 TAG_INVALID (PUT, GET, DELETE)`, async () => {
      expectError(await c.putManifest(KNOWN_REPO, tag, known.manifest.bytes), 400, 'TAG_INVALID', `PUT ${tag}`);
      expectError(await c.getManifest(KNOWN_REPO, tag), 400, 'TAG_INVALID', `GET ${tag}`);
      expectError(await c.delete(`/v2/${KNOWN_REPO}/manifests/${tag}`), 400, 'TAG_INVALID', `DELETE ${tag}`);
    });
  }

  test('valid edge-case tags are accepted: 128 characters, leading underscore, mixed case, dots and dashes', async () => {
    const repo = uniqueRepo('bad/edge-tags');
    const img = freshImage();
    await c.pushImage(repo, 'first', img);
    const tags = ['T'.repeat(128), '_x', 'A.b-C_1', '0', 'v1.2.3-rc.1__build'];
    for (const t of tags) await c.mustPutManifest(repo, t, img.manifest);
    const listed = await c.tags(repo);
    for (const t of tags) assert.ok(listed.includes(t), `${t} listed`);
  });
});

describe('bad input: bogus Content-Range on PATCH', () => {
  const bogus: Array<[string, string, ReadonlyArray<readonly [number, string]>]> = [
    ['not a range', 'abc', [[400, 'BLOB_UPLOAD_INVALID'], [416, 'RANGE_INVALID']]],
    ['end before start', '5-2', [[400, 'BLOB_UPLOAD_INVALID'], [416, 'RANGE_INVALID']]],
    ['start past the offset', '100-109', [[416, 'RANGE_INVALID']]],
    ['start before the offset', '0-9', [[416, 'RANGE_INVALID']]],
    ['a negative start', '-1-8', [[400, 'BLOB_UPLOAD_INVALID'], [416, 'RANGE_INVALID']]],
    ['an open end', '10-', [[400, 'BLOB_UPLOAD_INVALID'], [416, 'RANGE_INVALID']]],
    ['numbers beyond 2^53', '99999999999999999999-99999999999999999999', [[400, 'BLOB_UPLOAD_INVALID'], [416, 'RANGE_INVALID']]],
  ];
  for (const [what, range, allowed] of bogus) {
    bad(`Content-Range ${JSON.stringify(range)} (${what}): refused, the upload is unchanged and can finish`, async () => {
      const repo = uniqueRepo('bad/content-range');
      const b = freshBlob(30);
      const { location } = await c.startUpload(repo);
      const first = await c.patch(location, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-9' },
        body: b.bytes.subarray(0, 10),
      });
      assert.equal(first.status, 202, describeReply(first));
      const loc = c.target(first.header('location')!);
      const r = await c.patch(loc, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': range },
        body: b.bytes.subarray(10, 20),
      });
      expectErrorOneOf(r, allowed, range);
      const s = await c.get(loc);
      assert.equal(s.status, 204, describeReply(s));
      expectRange(s, 9, 'after the refused chunk');
      const put = await c.put(withQuery(c.target(s.header('location')!), { digest: b.digest }), {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '10-29' },
        body: b.bytes.subarray(10),
      });
      assert.equal(put.status, 201, describeReply(put));
      assert.ok((await c.getBlob(repo, b.digest)).body.equals(b.bytes));
    });
  }
});

describe('bad input: upload sessions that do not exist', () => {
  bad('an unknown upload id: 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE', async () => {
    const loc = `/v2/${KNOWN_REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000`;
    const b = freshBlob(8);
    expectError(await c.get(loc), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET');
    expectError(await c.patch(loc, { headers: { 'Content-Type': 'application/octet-stream' }, body: b.bytes }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH');
    expectError(await c.put(withQuery(loc, { digest: b.digest }), { body: b.bytes }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT');
    expectError(await c.delete(loc), 404, 'BLOB_UPLOAD_UNKNOWN', 'DELETE');
  });

  bad('an upload session of repository A cannot be used through repository B', async () => {
    const a = uniqueRepo('bad/session-a');
    const b = uniqueRepo('bad/session-b');
    const { location } = await c.startUpload(a);
    const stolen = location.replace(`/v2/${a}/`, `/v2/${b}/`);
    assert.notEqual(stolen, location);
    const x = freshBlob(8);
    expectError(await c.get(stolen), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await c.put(withQuery(stolen, { digest: x.digest }), { body: x.bytes }), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await c.getBlob(b, x.digest, {}, 'HEAD')).status, 404);
    // The session is still usable in A.
    const ok = await c.put(withQuery(location, { digest: x.digest }), { body: x.bytes });
    assert.equal(ok.status, 201, describeReply(ok));
  });

  bad('unsupported methods on registry routes: 404 or 405 with an error body', async () => {
    for (const [method, p] of [
      ['PATCH', `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`],
      ['POST', `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`],
      ['PUT', `/v2/${KNOWN_REPO}/blobs/${known.layers[0]!.digest}`],
      ['DELETE', `/v2/${KNOWN_REPO}/tags/list`],
    ] as const) {
      const r = await c.request(method, p, method === 'DELETE' ? {} : { body: '{}' });
      expectErrorOneOf(r, [[405, 'UNSUPPORTED'], ...NOT_FOUND], `${method} ${p}`);
    }
  });
});

// Last on purpose: a registry that falls over here must not hide the results above.
describe('bad input: a client that goes away in the middle of a body', () => {
  bad('POST ?digest= with Content-Length larger than the body, then EOF: no success, nothing stored', async () => {
    const b = freshBlob(10);
    const repo = uniqueRepo('bad/cl-long');
    const res = await rawExchange(
      c.port,
      raw('POST', `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(b.digest)}`, { 'Content-Type': 'application/octet-stream', 'Content-Length': 1_000_000_000_000 }, b.bytes),
      { halfClose: true },
    );
    if (res.status !== undefined) assert.ok(res.status >= 400 && res.status < 500, `a 4xx or no answer: ${res.raw.slice(0, 500)}`);
    assert.equal((await c.getBlob(repo, b.digest, {}, 'HEAD')).status, 404);
  });

  bad('manifest PUT with a huge Content-Length and a short body: 413/400 or no answer; known tag unchanged', async () => {
    const res = await rawExchange(
      c.port,
      raw('PUT', `/v2/${KNOWN_REPO}/manifests/${KNOWN_TAG}`, { 'Content-Type': MediaTypes.ociManifest, 'Content-Length': 1_000_000_000_000 }, '{"schemaVersion":2,'),
      { halfClose: true },
    );
    if (res.status !== undefined) {
      expectErrorOneOf(rawToReply(res), [
        [413, 'MANIFEST_INVALID'],
        [400, 'MANIFEST_INVALID'],
        [400, 'SIZE_INVALID'],
      ]);
    }
  });

  bad('PATCH with Content-Length far larger than the body, then EOF: the upload resumes from its reported Range', async () => {
    const repo = uniqueRepo('bad/patch-lie');
    const b = freshBlob(100);
    const { location } = await c.startUpload(repo);
    const res = await rawExchange(
      c.port,
      raw('PATCH', location, { 'Content-Type': 'application/octet-stream', 'Content-Length': 1_000_000_000 }, b.bytes.subarray(0, 10)),
      { halfClose: true },
    );
    if (res.status !== undefined) assert.ok(res.status >= 400 && res.status < 500, `a 4xx or no answer: ${res.raw.slice(0, 500)}`);
    const s = await c.get(location, { timeoutMs: 15_000 });
    if (s.status === 404) {
      expectError(s, 404, 'BLOB_UPLOAD_UNKNOWN'); // the registry dropped the broken session; acceptable
      return;
    }
    assert.equal(s.status, 204, describeReply(s));
    const m = /^0-(\d+)$/.exec(s.header('range') ?? '');
    assert.ok(m, `Range header: ${s.header('range')}`);
    // `0-0` is both "empty" and "one byte"; the spec's resumable push sends the rest from the reported offset.
    const have = Number(m[1]) === 0 ? 0 : Number(m[1]) + 1;
    assert.ok(have <= 10, `no more than the 10 bytes sent are staged (${have})`);
    const attempt = async (offset: number): Promise<Reply> =>
      c.put(withQuery(c.target(s.header('location')!), { digest: b.digest }), {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-99` },
        body: b.bytes.subarray(offset),
        timeoutMs: 15_000,
      });
    let put = await attempt(have);
    if (put.status === 416 && have === 0) put = await attempt(1); // the ambiguous `0-0` meant one byte
    assert.equal(put.status, 201, describeReply(put));
    const g = await c.getBlob(repo, b.digest);
    assert.ok(g.body.equals(b.bytes), 'the completed blob has exactly the intended bytes');
  });

  bad('closing PUT whose body is cut short, then EOF: no success, and the blob can still be pushed afresh', async () => {
    const repo = uniqueRepo('bad/put-lie');
    const b = freshBlob(100);
    const { location } = await c.startUpload(repo);
    const res = await rawExchange(
      c.port,
      raw('PUT', withQuery(location, { digest: b.digest }), { 'Content-Type': 'application/octet-stream', 'Content-Length': 100 }, b.bytes.subarray(0, 40)),
      { halfClose: true },
    );
    if (res.status !== undefined) assert.ok(res.status >= 400 && res.status < 500, `a 4xx or no answer: ${res.raw.slice(0, 500)}`);
    assert.equal((await c.getBlob(repo, b.digest, {}, 'HEAD')).status, 404, 'a blob from 40 of 100 bytes must not exist');
    const again = await c.pushBlob(repo, b);
    assert.equal(again.status, 201, describeReply(again));
  });
});
