/**
 * OCI distribution-spec v1.1 conformance, category 3: Content Discovery.
 * "Listing Tags" (end-8a/8b, n/last, Link), the `/v2/_catalog` extension
 * (Docker Registry HTTP API v2 "Listing Repositories"), multi-level names,
 * and "Listing Referrers" (end-12a/12b).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { blob, type Image } from '../helpers/oci.js';
import {
  OciClient,
  describeReply,
  type Reply,
} from '../helpers/conformance-client.js';
import {
  expectError,
} from '../helpers/conformance-assert.js';
import {
  MediaTypes,
  EMPTY_JSON,
  descriptor,
  freshBlob,
  freshImage,
  imageIndex,
  imageManifest,
  manifestDescriptor,
  uniqueRepo,
  type Descriptor,
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

/** Parses `Link: <url>; rel="next"` (RFC 5988) and returns the request target of the next page. */
function nextLink(r: Reply): string | undefined {
  const link = r.header('link');
  if (link === undefined) return undefined;
  const m = /^<([^>]+)>;\s*rel="?next"?$/.exec(link.trim());
  assert.ok(m, `Link header has the form <url>; rel="next": ${link}`);
  return c.target(m[1]!);
}

/** Follows `Link` from `first` to the end (bounded) and returns every page's items. */
async function paginate(first: string, key: 'tags' | 'repositories', n: number, maxPages: number): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined = first;
  for (let i = 0; next !== undefined; i++) {
    assert.ok(i < maxPages, `pagination did not end within ${maxPages} pages`);
    const r = await c.get(next);
    assert.equal(r.status, 200, describeReply(r));
    const items = r.json<Record<string, string[] | null>>()[key] ?? [];
    assert.ok(items.length <= n, `page ${i} has at most n=${n} items: ${JSON.stringify(items)}`);
    const link = nextLink(r);
    if (link !== undefined) {
      assert.ok(link.includes(`n=${n}`), `next link keeps n: ${link}`);
      assert.match(link, /[?&]last=/, `next link carries last: ${link}`);
    }
    pages.push(items);
    next = link;
  }
  return pages;
}

async function pushTagged(repo: string, tags: string[]): Promise<Image> {
  const img = freshImage();
  await c.pushImage(repo, tags[0]!, img);
  for (const t of tags.slice(1)) await c.mustPutManifest(repo, t, img.manifest);
  return img;
}

describe('discovery: tags list (end-8a, end-8b)', () => {
  const tags = ['v1.10', 'latest', 'alpha', '1.0', 'v1.2', '_private', 'beta', 'v1.0', 'gamma', 'delta-rc.1'];
  const sorted = [...tags].sort(); // lower case, digits, '.', '_' and '-': ASCII and case-insensitive order agree

  let repo: string;
  before(async () => {
    repo = uniqueRepo('disc/tags');
    await pushTagged(repo, tags);
  });

  test('all tags, in lexical order, with the repository name', async () => {
    const r = await c.get(`/v2/${repo}/tags/list`);
    assert.equal(r.status, 200, describeReply(r));
    const body = r.json<{ name: string; tags: string[] }>();
    assert.equal(body.name, repo);
    assert.deepEqual(body.tags, sorted);
    assert.match(r.header('content-type') ?? '', /^application\/json/);
  });

  test('?n=3 returns the first 3 tags and a Link to the next page', async () => {
    const r = await c.get(`/v2/${repo}/tags/list?n=3`);
    assert.equal(r.status, 200, describeReply(r));
    const body = r.json<{ tags: string[] }>();
    const link = nextLink(r);
    assert.ok(link, 'more tags are available, so a Link header is expected');
    assert.ok(link.startsWith(`/v2/${repo}/tags/list?`), `Link points at the tags list: ${link}`);
    // Fewer than n is allowed only because a Link header is provided.
    assert.ok(body.tags.length >= 1 && body.tags.length <= 3, JSON.stringify(body.tags));
    assert.deepEqual(body.tags, sorted.slice(0, body.tags.length));
  });

  for (const n of [1, 3, 4, 10]) {
    test(`following Link with n=${n} walks every tag exactly once, in order`, async () => {
      const pages = await paginate(`/v2/${repo}/tags/list?n=${n}`, 'tags', n, sorted.length + 3);
      assert.deepEqual(pages.flat(), sorted);
      // Every page but a possible empty last one is non-empty.
      for (const p of pages.slice(0, -1)) assert.ok(p.length > 0);
    });
  }

  test('n larger than the number of tags: every tag and no Link', async () => {
    const r = await c.get(`/v2/${repo}/tags/list?n=1000`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ tags: string[] }>().tags, sorted);
    assert.equal(r.header('link'), undefined);
  });

  test('n=0 gives an empty list and no Link header', async () => {
    const r = await c.get(`/v2/${repo}/tags/list?n=0`);
    assert.equal(r.status, 200, describeReply(r));
    assert.deepEqual(r.json<{ tags: string[] | null }>().tags ?? [], []);
    assert.equal(r.header('link'), undefined, 'MUST NOT include a Link header when n is zero');
  });

  test('last=<tag> returns the tags after it (non-inclusive), with and without n', async () => {
    const last = sorted[3]!;
    const r = await c.get(`/v2/${repo}/tags/list?n=2&last=${encodeURIComponent(last)}`);
    assert.equal(r.status, 200, describeReply(r));
    assert.deepEqual(r.json<{ tags: string[] }>().tags, sorted.slice(4, 6));
    const all = await c.get(`/v2/${repo}/tags/list?last=${encodeURIComponent(last)}`);
    assert.equal(all.status, 200, describeReply(all));
    assert.deepEqual(all.json<{ tags: string[] }>().tags, sorted.slice(4));
  });

  test('last= the final tag gives an empty list', async () => {
    const r = await c.get(`/v2/${repo}/tags/list?n=5&last=${encodeURIComponent(sorted[sorted.length - 1]!)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ tags: string[] | null }>().tags ?? [], []);
    assert.equal(r.header('link'), undefined);
  });

  test('mixed-case tags come back in lexical order (ASCII or case-insensitive)', async () => {
    const mixed = uniqueRepo('disc/mixed-case');
    const names = ['b', 'C', 'a', 'B', 'c1', 'A2'];
    await pushTagged(mixed, names);
    const got = await c.tags(mixed);
    assert.deepEqual([...got].sort(), [...names].sort(), 'every tag listed once');
    const ascii = [...names].sort();
    const insensitive = got.every((t, i) => i === 0 || got[i - 1]!.toLowerCase() <= t.toLowerCase());
    assert.ok(JSON.stringify(got) === JSON.stringify(ascii) || insensitive, `sorted: ${JSON.stringify(got)}`);
  });

  test('a repository with blobs and an untagged manifest but no tags lists "tags": []', async () => {
    const bare = uniqueRepo('disc/no-tags');
    const img = freshImage();
    await c.pushImage(bare, img.manifest.digest, img);
    const r = await c.get(`/v2/${bare}/tags/list`);
    assert.equal(r.status, 200, describeReply(r));
    const body = r.json<{ name: string; tags: string[] }>();
    assert.equal(body.name, bare);
    assert.deepEqual(body.tags, []);
  });

  test('a repository with only blobs lists "tags": []', async () => {
    const bare = uniqueRepo('disc/blobs-only');
    await c.mustPushBlob(bare, freshBlob());
    const r = await c.get(`/v2/${bare}/tags/list`);
    assert.equal(r.status, 200, describeReply(r));
    assert.deepEqual(r.json<{ tags: string[] }>().tags, []);
  });

  test('unknown repository: 404 NAME_UNKNOWN', async () => {
    expectError(await c.get(`/v2/${uniqueRepo('disc/nobody')}/tags/list`), 404, 'NAME_UNKNOWN');
    expectError(await c.get(`/v2/${uniqueRepo('disc/nobody')}/tags/list?n=2`), 404, 'NAME_UNKNOWN');
  });
});

describe('discovery: multi-level repository names', () => {
  test('team/app/api: push, pull, tags list and catalog', async () => {
    const repo = `team/app/api${uniqueRepo('')}`; // `team/app/api-<n>-<hex>`
    const img = freshImage();
    await c.pushImage(repo, 'v1', img);
    const g = await c.getManifest(repo, 'v1');
    assert.equal(g.status, 200, describeReply(g));
    assert.ok(g.body.equals(img.manifest.bytes));
    const b = await c.getBlob(repo, img.layers[0]!.digest);
    assert.equal(b.status, 200);
    assert.ok(b.body.equals(img.layers[0]!.bytes));
    const t = await c.get(`/v2/${repo}/tags/list`);
    assert.equal(t.json<{ name: string }>().name, repo);
    const cat = await c.get('/v2/_catalog');
    assert.equal(cat.status, 200);
    assert.ok(cat.json<{ repositories: string[] }>().repositories.includes(repo));
    // Its parent path is not a repository of its own.
    expectError(await c.get('/v2/team/app/tags/list'), 404, 'NAME_UNKNOWN');
  });

  test('names that differ only below a shared prefix are separate repositories', async () => {
    const base = uniqueRepo('disc/ns');
    const a = `${base}/a`;
    const ab = `${base}/a/b`;
    const one = freshImage();
    const two = freshImage();
    await c.pushImage(a, 'x', one);
    await c.pushImage(ab, 'x', two);
    assert.ok((await c.getManifest(a, 'x')).body.equals(one.manifest.bytes));
    assert.ok((await c.getManifest(ab, 'x')).body.equals(two.manifest.bytes));
    expectError(await c.getBlob(a, two.layers[0]!.digest), 404, 'BLOB_UNKNOWN');
  });
});

describe('discovery: catalog', () => {
  test('/v2/_catalog lists repositories in lexical order; Link pagination walks the same list', async () => {
    const mine = ['disc/cat-b', 'disc/cat-a', 'disc/cat-c/x'].map((p) => uniqueRepo(p));
    for (const r of mine) await c.pushImage(r, 'v1', freshImage());
    const full = await c.get('/v2/_catalog');
    assert.equal(full.status, 200, describeReply(full));
    const repos = full.json<{ repositories: string[] }>().repositories;
    assert.deepEqual(repos, [...repos].sort(), 'lexical order');
    assert.equal(new Set(repos).size, repos.length, 'no duplicates');
    for (const r of mine) assert.ok(repos.includes(r), `${r} listed`);
    const pages = await paginate('/v2/_catalog?n=2', 'repositories', 2, repos.length + 3);
    assert.deepEqual(pages.flat(), repos);
    assert.ok(pages.length > 1, 'more than two repositories means more than one page');
  });

  test('/v2/_catalog?n=2&last=<name> continues after that name', async () => {
    const full = (await c.get('/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    assert.ok(full.length >= 3);
    const r = await c.get(`/v2/_catalog?n=2&last=${encodeURIComponent(full[0]!)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ repositories: string[] }>().repositories, full.slice(1, 3));
  });
});

describe('discovery: referrers (end-12a, end-12b)', () => {
  const SBOM = 'application/vnd.example.sbom.v1';
  const SIG = 'application/vnd.example.signature.v1';
  const CUSTOM_CONFIG = 'application/vnd.example.config.v1+json';

  let repo: string;
  let subject: Image;
  let sbom: ReturnType<typeof blob>;
  let sig: ReturnType<typeof blob>;
  let noType: ReturnType<typeof blob>;
  let idxTyped: ReturnType<typeof blob>;
  let idxUntyped: ReturnType<typeof blob>;

  interface RefIndex {
    schemaVersion: number;
    mediaType: string;
    manifests: Descriptor[];
  }

  async function referrers(name: string, digest: string, query = ''): Promise<{ r: Reply; body: RefIndex }> {
    const r = await c.get(`/v2/${name}/referrers/${digest}${query}`);
    assert.equal(r.status, 200, describeReply(r));
    assert.equal(r.header('content-type'), MediaTypes.ociIndex);
    const body = r.json<RefIndex>();
    assert.equal(body.schemaVersion, 2);
    assert.equal(body.mediaType, MediaTypes.ociIndex);
    assert.ok(Array.isArray(body.manifests));
    return { r, body };
  }

  function byDigest(list: Descriptor[], d: string): Descriptor {
    const hits = list.filter((x) => x.digest === d);
    assert.equal(hits.length, 1, `${d} listed exactly once in ${JSON.stringify(list)}`);
    return hits[0]!;
  }

  before(async () => {
    repo = uniqueRepo('disc/referrers');
    subject = freshImage();
    await c.pushImage(repo, 'app', subject);
    const subj = manifestDescriptor(subject);
    await c.mustPushBlob(repo, EMPTY_JSON);
    const payload = freshBlob(64);
    await c.mustPushBlob(repo, payload);
    const customConfig = blob(JSON.stringify({ tool: 'example', nonce: repo }));
    await c.mustPushBlob(repo, customConfig);

    sbom = imageManifest({
      artifactType: SBOM,
      config: descriptor(EMPTY_JSON, MediaTypes.ociEmpty),
      layers: [descriptor(payload, 'application/spdx+json')],
      subject: subj,
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.sbom.format': 'spdx' },
    });
    sig = imageManifest({
      artifactType: SIG,
      config: descriptor(EMPTY_JSON, MediaTypes.ociEmpty),
      layers: [descriptor(payload, 'application/vnd.example.signature.layer')],
      subject: subj,
      annotations: { 'org.example.signer': 'alice' },
    });
    // No artifactType: the referrers descriptor falls back to the config media type.
    noType = imageManifest({
      config: descriptor(customConfig, CUSTOM_CONFIG),
      layers: [descriptor(payload, 'application/octet-stream')],
      subject: subj,
    });
    idxTyped = imageIndex({
      artifactType: 'application/vnd.example.bundle.v1',
      manifests: [manifestDescriptor(subject)],
      subject: subj,
      annotations: { 'org.example.kind': 'bundle' },
    });
    idxUntyped = imageIndex({ manifests: [manifestDescriptor(subject)], subject: subj });

    for (const m of [sbom, sig, noType]) await c.mustPutManifest(repo, m.digest, m);
    await c.mustPutManifest(repo, idxTyped.digest, idxTyped, MediaTypes.ociIndex);
    await c.mustPutManifest(repo, idxUntyped.digest, idxUntyped, MediaTypes.ociIndex);
  });

  test('lists every manifest whose subject is the digest, with mediaType, digest, size, artifactType, annotations', async () => {
    const { body } = await referrers(repo, subject.manifest.digest);
    assert.equal(body.manifests.length, 5, JSON.stringify(body.manifests));
    const s = byDigest(body.manifests, sbom.digest);
    assert.equal(s.mediaType, MediaTypes.ociManifest);
    assert.equal(s.size, sbom.size);
    assert.equal(s.artifactType, SBOM);
    assert.deepEqual(s.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.sbom.format': 'spdx' });
    const g = byDigest(body.manifests, sig.digest);
    assert.equal(g.artifactType, SIG);
    assert.equal(g.size, sig.size);
    assert.deepEqual(g.annotations, { 'org.example.signer': 'alice' });
  });

  test('artifactType falls back to the config mediaType when the manifest has none', async () => {
    const { body } = await referrers(repo, subject.manifest.digest);
    const d = byDigest(body.manifests, noType.digest);
    assert.equal(d.artifactType, CUSTOM_CONFIG);
    assert.equal(d.mediaType, MediaTypes.ociManifest);
    assert.equal(d.size, noType.size);
  });

  test('an index referrer: its artifactType when it has one, none when it has none', async () => {
    const { body } = await referrers(repo, subject.manifest.digest);
    const typed = byDigest(body.manifests, idxTyped.digest);
    assert.equal(typed.mediaType, MediaTypes.ociIndex);
    assert.equal(typed.artifactType, 'application/vnd.example.bundle.v1');
    assert.deepEqual(typed.annotations, { 'org.example.kind': 'bundle' });
    const untyped = byDigest(body.manifests, idxUntyped.digest);
    assert.equal(untyped.size, idxUntyped.size);
    assert.ok(!('artifactType' in untyped) || untyped.artifactType === undefined, 'artifactType MUST be omitted for an index without one');
  });

  test('?artifactType= filters and sets OCI-Filters-Applied: artifactType', async () => {
    const { r, body } = await referrers(repo, subject.manifest.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
    assert.equal(r.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(body.manifests.map((m) => m.digest), [sbom.digest]);
  });

  test('?artifactType= matches the config-mediaType fallback too', async () => {
    const { r, body } = await referrers(repo, subject.manifest.digest, `?artifactType=${encodeURIComponent(CUSTOM_CONFIG)}`);
    assert.equal(r.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(body.manifests.map((m) => m.digest), [noType.digest]);
  });

  test('?artifactType= that matches nothing: 200, empty list, filter header', async () => {
    const { r, body } = await referrers(repo, subject.manifest.digest, `?artifactType=${encodeURIComponent('application/vnd.example.none')}`);
    assert.equal(r.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(body.manifests, []);
  });

  test('no filter, no OCI-Filters-Applied header', async () => {
    const { r } = await referrers(repo, subject.manifest.digest);
    assert.equal(r.header('oci-filters-applied'), undefined);
  });

  test('unknown digest: 200 with an empty manifests list', async () => {
    const { body } = await referrers(repo, freshBlob().digest);
    assert.deepEqual(body.manifests, []);
  });

  test('a digest that is a blob, not a manifest: 200 with an empty list', async () => {
    const { body } = await referrers(repo, subject.layers[0]!.digest);
    assert.deepEqual(body.manifests, []);
  });

  test('referrers are scoped to the repository', async () => {
    const other = uniqueRepo('disc/referrers-other');
    await c.pushImage(other, 'app', subject); // the same subject, in another repository
    const { body } = await referrers(other, subject.manifest.digest);
    assert.deepEqual(body.manifests, []);
  });

  test('a referrer pushed again under a tag is still listed once', async () => {
    await c.mustPutManifest(repo, 'sbom-tag', sbom);
    const { body } = await referrers(repo, subject.manifest.digest);
    byDigest(body.manifests, sbom.digest);
    assert.equal(body.manifests.length, 5);
  });

  test('a referrer pushed before its subject is listed (and the subject is still absent)', async () => {
    const r2 = uniqueRepo('disc/referrers-early');
    const future = freshImage();
    const att = freshImage({ artifactType: 'application/vnd.example.attestation.v1', subject: manifestDescriptor(future) });
    for (const b of [att.config, ...att.layers]) await c.mustPushBlob(r2, b);
    await c.mustPutManifest(r2, att.manifest.digest, att.manifest);
    expectError(await c.getManifest(r2, future.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    const { body } = await referrers(r2, future.manifest.digest);
    assert.deepEqual(body.manifests.map((m) => [m.digest, m.artifactType]), [[att.manifest.digest, 'application/vnd.example.attestation.v1']]);
  });

  test('referrers under a multi-level name', async () => {
    const r3 = `team/app/api-ref-${uniqueRepo('x')}`;
    const subj = freshImage();
    await c.pushImage(r3, 'v1', subj);
    const att = freshImage({ artifactType: 'application/vnd.example.vex.v1', subject: manifestDescriptor(subj) });
    for (const b of [att.config, ...att.layers]) await c.mustPushBlob(r3, b);
    await c.mustPutManifest(r3, att.manifest.digest, att.manifest);
    const { body } = await referrers(r3, subj.manifest.digest);
    assert.deepEqual(body.manifests.map((m) => m.digest), [att.manifest.digest]);
  });

  test('a malformed digest: 400 DIGEST_INVALID', async () => {
    expectError(await c.get(`/v2/${repo}/referrers/sha256:xyz`), 400, 'DIGEST_INVALID');
    expectError(await c.get(`/v2/${repo}/referrers/not-a-digest`), 400, 'DIGEST_INVALID');
  });
});
