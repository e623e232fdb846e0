import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server.js';
import { pushBlob, putManifest } from '../helpers/oci.js';
import {
  MANIFEST_MEDIA_TYPES,
  descriptorsOf,
  loadFixture,
  regenerate,
  serialize,
  shapeOf,
  type Fixture,
  type GeneratedBlob,
  type GeneratedManifest,
  type JsonObject,
  type JsonValue,
  type RegeneratedArtifact,
} from '../helpers/build-tool-fixtures.js';

/*
 * What real build tools push, pushed to a real berth: the shapes in
 * test/fixtures/build-tools/ (see its README for where each comes from), with
 * regenerated blobs. Expected digests are computed here with node:crypto.
 *
 * - BuildKit registry cache, default form: an index / manifest list whose manifests[]
 *   are layer BLOBS plus the application/vnd.buildkit.cacheconfig.v0 blob. A registry
 *   must accept an index whose entries are blobs of the repository (image-index.md:
 *   "An encountered mediaType that is unknown to the implementation MUST be ignored").
 * - BuildKit registry cache, image-manifest=true: an OCI image manifest whose config is
 *   the cache config.
 * - buildx multi-platform image with attestation manifests (unknown/unknown, linked by
 *   the vnd.docker.reference.* annotations, not by `subject`).
 */

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const CACHE_CONFIG = 'application/vnd.buildkit.cacheconfig.v0';
const ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
const TIMEOUT_MS = 30_000;

const sha256 = (b: Uint8Array | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Case {
  title: string;
  repo: string;
  tag: string;
  root: string;
  /** Fixture digest of a child manifest -> fixture file to build it from. */
  children: Record<string, string>;
}

const ATTESTED_CHILDREN: Record<string, string> = {
  'sha256:a42bc525fcf382ea7160b037fe72444dc5a415bf8c874e9432814d22ddb61dda': 'buildx-image-manifest.json',
  'sha256:8c57cad131a6458bc17679475de6d9dd2fd5da21e4ee88a1e52774722b210652': 'buildx-image-manifest.json',
  'sha256:05774b462cb207aa3dded9d0d9c9943054c6aa26a29eec6ea13a9969974af1be': 'buildx-attestation-manifest.json',
  'sha256:8a24f3af5c1700021ad0cccb6d3bc0880d6c6bd2ba15b493e81d237d68166ddf': 'buildx-attestation-manifest.json',
};

const CASES: Case[] = [
  { title: 'BuildKit cache, OCI index form', repo: 'buildkit/cache-oci', tag: 'buildcache', root: 'buildkit-cache-index-oci.json', children: {} },
  { title: 'BuildKit cache, Docker manifest list form', repo: 'buildkit/cache-docker', tag: 'buildcache', root: 'buildkit-cache-index-docker.json', children: {} },
  { title: 'BuildKit cache, image-manifest=true', repo: 'buildkit/cache-image-manifest', tag: 'buildcache', root: 'buildkit-cache-image-manifest.json', children: {} },
  { title: 'buildx multi-platform image with attestations', repo: 'buildx/attested', tag: 'v1', root: 'buildx-attested-index.json', children: ATTESTED_CHILDREN },
];

const FIXTURE_FILES = [
  'buildkit-cache-index-oci.json',
  'buildkit-cache-index-docker.json',
  'buildkit-cache-image-manifest.json',
  'buildx-attested-index.json',
  'buildx-attestation-manifest.json',
  'buildx-image-manifest.json',
];

interface Built {
  root: Fixture;
  children: Record<string, Fixture>;
  artifact: RegeneratedArtifact;
}

function build(c: Case): Built {
  const root = loadFixture(c.root);
  const children: Record<string, Fixture> = {};
  for (const [digest, file] of Object.entries(c.children)) children[digest] = loadFixture(file);
  return { root, children, artifact: regenerate(root, children) };
}

function obj(v: JsonValue | undefined): JsonObject {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), 'expected a JSON object');
  return v;
}

function arr(v: JsonValue | undefined): JsonValue[] {
  assert.ok(Array.isArray(v), 'expected a JSON array');
  return v;
}

/** All regenerated manifests and blobs by digest. */
function contentIndex(a: RegeneratedArtifact): Map<string, GeneratedBlob> {
  const m = new Map<string, GeneratedBlob>();
  for (const x of [...a.blobs, ...a.manifests, a.root]) m.set(x.digest, x);
  return m;
}

describe('build-tool fixtures and their regeneration (no server)', () => {
  for (const file of FIXTURE_FILES) {
    test(`${file} re-serializes to exactly its own text (key order and layout kept)`, () => {
      const f = loadFixture(file);
      assert.equal(serialize(f.doc, f.indent), f.text);
    });
  }

  test('the attestation manifest fixture is the 839 bytes buildx pushed, attestation config 241 bytes', () => {
    const f = loadFixture('buildx-attestation-manifest.json');
    assert.equal(Buffer.byteLength(f.text), 839);
    assert.equal(obj(f.doc.config).size, 241);
  });

  for (const c of CASES) {
    describe(c.title, () => {
      const { root, children, artifact } = build(c);
      const all = [artifact.root, ...artifact.manifests];

      test('the regenerated root has the fixture shape (only digests and sizes differ)', () => {
        assert.deepEqual(shapeOf(artifact.root.doc), shapeOf(root.doc));
        assert.notEqual(artifact.root.digest, sha256(root.text));
      });

      test('every regenerated child has the shape of its fixture', () => {
        assert.equal(artifact.manifests.length, Object.keys(c.children).length);
        for (const m of artifact.manifests) {
          const template = children[m.originalDigest];
          assert.ok(template, `no template for ${m.originalDigest}`);
          assert.deepEqual(shapeOf(m.doc), shapeOf(template.doc), m.path);
        }
      });

      test('bytes, digests and sizes are consistent; every descriptor resolves to generated content of its media type', () => {
        const content = contentIndex(artifact);
        for (const m of all) {
          assert.equal(m.digest, sha256(m.bytes), m.path);
          assert.equal(m.size, m.bytes.length, m.path);
          assert.deepEqual(JSON.parse(m.bytes.toString('utf8')), m.doc);
          for (const d of descriptorsOf(m.doc)) {
            const target = content.get(d.digest);
            assert.ok(target, `${m.path}.${d.path} -> ${d.digest} was not generated`);
            assert.equal(target.size, d.size, `${m.path}.${d.path} size`);
            assert.equal(target.mediaType, d.mediaType, `${m.path}.${d.path} mediaType`);
            assert.equal(sha256(target.bytes), d.digest);
          }
        }
        for (const b of artifact.blobs) assert.equal(b.digest, sha256(b.bytes));
      });

      test('children come before their parents, and every child is referenced', () => {
        const seen = new Set<string>();
        for (const m of [...artifact.manifests, artifact.root]) {
          for (const d of descriptorsOf(m.doc)) {
            if (MANIFEST_MEDIA_TYPES.includes(d.mediaType)) assert.ok(seen.has(d.digest), `${m.path} pushed before its child ${d.digest}`);
          }
          seen.add(m.digest);
        }
      });

      test('gzip layers decompress to what containerd.io/uncompressed names', () => {
        const content = contentIndex(artifact);
        let checked = 0;
        for (const m of all) {
          for (const d of descriptorsOf(m.doc)) {
            const uncompressed = d.annotations?.['containerd.io/uncompressed'];
            if (typeof uncompressed !== 'string') continue;
            const blob = content.get(d.digest);
            assert.ok(blob);
            assert.equal(sha256(gunzipSync(blob.bytes)), uncompressed, d.path);
            checked++;
          }
        }
        if (c.root.startsWith('buildkit-')) assert.ok(checked > 0, 'the BuildKit cache fixtures annotate their layers');
      });

      if (c.root.startsWith('buildkit-')) {
        test('the cache config names the cache layers in order', () => {
          const doc = artifact.root.doc;
          const entries = Array.isArray(doc.manifests) ? doc.manifests.map(obj) : [];
          const configDesc = entries.length > 0 ? entries.find((e) => e.mediaType === CACHE_CONFIG) : obj(doc.config);
          assert.ok(configDesc, 'cache config descriptor');
          assert.equal(configDesc.mediaType, CACHE_CONFIG);
          const layerDigests = (entries.length > 0 ? entries.filter((e) => e.mediaType !== CACHE_CONFIG) : arr(doc.layers).map(obj)).map((e) => e.digest);
          const blob = contentIndex(artifact).get(String(configDesc.digest));
          assert.ok(blob);
          const cfg = JSON.parse(blob.bytes.toString('utf8')) as { layers: Array<{ blob: string }> };
          assert.deepEqual(
            cfg.layers.map((l) => l.blob),
            layerDigests,
          );
        });
      }

      if (c.root === 'buildx-attested-index.json') {
        test('attestation manifests point at the platform manifest of the same index, and their in-toto subject is it', () => {
          const entries = arr(artifact.root.doc.manifests).map(obj);
          const byDigest = new Map(artifact.manifests.map((m) => [m.digest, m]));
          const content = contentIndex(artifact);
          const images = entries.filter((e) => obj(e.platform).os === 'linux');
          const attestations = entries.filter((e) => e.annotations !== undefined && obj(e.annotations)['vnd.docker.reference.type'] === 'attestation-manifest');
          assert.equal(images.length, 2);
          assert.equal(attestations.length, 2);
          assert.notEqual(images[0]?.digest, images[1]?.digest);
          assert.notEqual(attestations[0]?.digest, attestations[1]?.digest);
          for (const [i, att] of attestations.entries()) {
            assert.deepEqual(att.platform, { architecture: 'unknown', os: 'unknown' });
            const target = obj(att.annotations)['vnd.docker.reference.digest'];
            assert.equal(target, images[i]?.digest, 'fixture order: attestation i describes image i');
            const manifest = byDigest.get(String(att.digest));
            assert.ok(manifest);
            assert.equal(manifest.doc.subject, undefined, 'buildx attestation manifests have no subject');
            const layers = arr(manifest.doc.layers).map(obj);
            assert.equal(layers.length, 2);
            for (const l of layers) {
              assert.equal(l.mediaType, 'application/vnd.in-toto+json');
              const blob = content.get(String(l.digest));
              assert.ok(blob);
              const statement = JSON.parse(blob.bytes.toString('utf8')) as {
                predicateType: string;
                subject: Array<{ digest: { sha256: string } }>;
              };
              assert.equal(statement.predicateType, obj(l.annotations)['in-toto.io/predicate-type']);
              assert.equal(`sha256:${statement.subject[0]?.digest.sha256}`, target);
            }
            const config = content.get(String(obj(manifest.doc.config).digest));
            assert.ok(config);
            assert.equal(
              config.bytes.toString('utf8'),
              JSON.stringify({
                architecture: 'unknown',
                os: 'unknown',
                config: {},
                rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
              }),
            );
          }
          for (const img of images) {
            const m = byDigest.get(String(img.digest));
            assert.ok(m);
            const config = content.get(String(obj(m.doc.config).digest));
            assert.ok(config);
            assert.equal((JSON.parse(config.bytes.toString('utf8')) as { architecture: string }).architecture, obj(img.platform).architecture);
          }
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return fetch(url, { method, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
}

async function expectManifest(base: string, repo: string, reference: string, m: GeneratedManifest): Promise<void> {
  const r = await get(`${base}/v2/${repo}/manifests/${reference}`, { Accept: ACCEPT });
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(r.status, 200, `GET manifests/${reference}: ${r.status} ${body.toString('utf8').slice(0, 300)}`);
  assert.ok(body.equals(m.bytes), `GET manifests/${reference}: bytes differ from what was pushed`);
  assert.equal(r.headers.get('content-type')?.split(';')[0]?.trim(), m.mediaType, `Content-Type of ${reference}`);
  assert.equal(r.headers.get('docker-content-digest'), m.digest, `Docker-Content-Digest of ${reference}`);
}

async function expectBlob(base: string, repo: string, b: { digest: string; bytes: Buffer }): Promise<void> {
  const r = await get(`${base}/v2/${repo}/blobs/${b.digest}`);
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(r.status, 200, `GET blobs/${b.digest}: ${r.status} ${body.toString('utf8').slice(0, 300)}`);
  assert.ok(body.equals(b.bytes), `GET blobs/${b.digest}: bytes differ`);
  // distribution-spec "Pulling blobs": Docker-Content-Digest SHOULD be present and, if present, MUST match.
  const dcd = r.headers.get('docker-content-digest');
  if (dcd !== null) assert.equal(dcd, b.digest);
}

describe('build-tool artifacts against a real berth', () => {
  let server: TestServer | undefined;
  const base = (): string => {
    assert.ok(server, 'server did not start');
    return server.url;
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  for (const c of CASES) {
    describe(c.title, () => {
      const { artifact } = build(c);
      const content = contentIndex(artifact);

      test('push: every blob with 201', async () => {
        for (const b of artifact.blobs) {
          const r = await pushBlob(base(), c.repo, b);
          assert.equal(r.status, 201, `blob ${b.path} (${b.mediaType}): ${r.status} ${await r.text()}`);
          assert.ok(r.headers.get('location'), 'Location on 201');
        }
      });

      test('push: child manifests by digest, then the root by tag, each 201 with its Content-Type', async () => {
        for (const m of artifact.manifests) {
          const r = await putManifest(base(), c.repo, m.digest, m.bytes, m.mediaType);
          assert.equal(r.status, 201, `PUT ${m.path} (${m.mediaType}): ${r.status} ${await r.text()}`);
          const dcd = r.headers.get('docker-content-digest');
          if (dcd !== null) assert.equal(dcd, m.digest);
        }
        const r = await putManifest(base(), c.repo, c.tag, artifact.root.bytes, artifact.root.mediaType);
        assert.equal(r.status, 201, `PUT root (${artifact.root.mediaType}): ${r.status} ${await r.text()}`);
        assert.ok(r.headers.get('location'), 'Location on 201');
        const dcd = r.headers.get('docker-content-digest');
        if (dcd !== null) assert.equal(dcd, artifact.root.digest);
      });

      test('GET the root by tag and by digest: identical bytes, pushed Content-Type, Docker-Content-Digest', async () => {
        await expectManifest(base(), c.repo, c.tag, artifact.root);
        await expectManifest(base(), c.repo, artifact.root.digest, artifact.root);
      });

      test('HEAD the root: 200 with Content-Length and Docker-Content-Digest', async () => {
        const r = await get(`${base()}/v2/${c.repo}/manifests/${c.tag}`, { Accept: ACCEPT }, 'HEAD');
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-length'), String(artifact.root.size));
        assert.equal(r.headers.get('docker-content-digest'), artifact.root.digest);
        assert.equal(r.headers.get('content-type')?.split(';')[0]?.trim(), artifact.root.mediaType);
      });

      if (artifact.manifests.length > 0) {
        test('every child manifest is fetchable by digest, byte-identical', async () => {
          for (const m of artifact.manifests) await expectManifest(base(), c.repo, m.digest, m);
        });
      }

      test('every blob the graph references (index entries, configs, layers) is fetchable, byte-identical', async () => {
        let n = 0;
        for (const m of [artifact.root, ...artifact.manifests]) {
          for (const d of descriptorsOf(m.doc)) {
            if (MANIFEST_MEDIA_TYPES.includes(d.mediaType)) continue;
            const b = content.get(d.digest);
            assert.ok(b, d.path);
            await expectBlob(base(), c.repo, b);
            n++;
          }
        }
        assert.equal(n > 0, true);
      });

      if (c.root.startsWith('buildkit-cache-index')) {
        test('the index children are the cache layers and config, served as blobs', async () => {
          const entries = arr(artifact.root.doc.manifests).map(obj);
          assert.ok(entries.some((e) => e.mediaType === CACHE_CONFIG));
          for (const e of entries) {
            const b = content.get(String(e.digest));
            assert.ok(b);
            const r = await get(`${base()}/v2/${c.repo}/blobs/${b.digest}`, {}, 'HEAD');
            assert.equal(r.status, 200, `HEAD blobs/${b.digest}`);
            assert.equal(r.headers.get('content-length'), String(b.size));
          }
        });
      }

      if (c.root.startsWith('buildkit-')) {
        // BuildKit exports the cache to the same tag on every build (--cache-to ...,mode=max).
        test('a second cache export to the same tag replaces the first', async () => {
          const next = regenerate(loadFixture(c.root), {}, { seed: 'second export' });
          assert.notEqual(next.root.digest, artifact.root.digest, 'the second export differs');
          for (const b of next.blobs) {
            const r = await pushBlob(base(), c.repo, b);
            assert.equal(r.status, 201, `blob ${b.path}: ${r.status} ${await r.text()}`);
          }
          const r = await putManifest(base(), c.repo, c.tag, next.root.bytes, next.root.mediaType);
          assert.equal(r.status, 201, `PUT root again: ${r.status} ${await r.text()}`);
          await expectManifest(base(), c.repo, c.tag, next.root);
        });
      }

      if (c.root === 'buildx-attested-index.json') {
        const platformDigests = (): string[] =>
          arr(artifact.root.doc.manifests)
            .map(obj)
            .filter((e) => obj(e.platform).os === 'linux')
            .map((e) => String(e.digest));

        // The attestation manifests have no subject: buildx links them by annotation, so
        // the referrers API (distribution-spec v1.1 "Listing Referrers") lists nothing.
        test('referrers of each platform image, of the index and of an attestation are empty lists', async () => {
          const subjects = [...platformDigests(), artifact.root.digest, ...artifact.manifests.filter((m) => m.doc.subject === undefined).map((m) => m.digest)];
          assert.ok(subjects.length >= 3);
          for (const digest of subjects) {
            const r = await get(`${base()}/v2/${c.repo}/referrers/${digest}`, { Accept: OCI_INDEX });
            const text = await r.text();
            assert.equal(r.status, 200, `referrers/${digest}: ${r.status} ${text.slice(0, 300)}`);
            assert.equal(r.headers.get('content-type')?.split(';')[0]?.trim(), OCI_INDEX);
            const body = JSON.parse(text) as { schemaVersion?: number; mediaType?: string; manifests?: unknown[] };
            assert.equal(body.schemaVersion, 2);
            assert.equal(body.mediaType, OCI_INDEX);
            assert.deepEqual(body.manifests, [], `referrers/${digest} should be empty`);
          }
        });

        test('the attestation manifests are not tagged: the tag list holds only the pushed tag', async () => {
          const r = await get(`${base()}/v2/${c.repo}/tags/list`);
          assert.equal(r.status, 200);
          const body = (await r.json()) as { name?: string; tags?: string[] };
          assert.equal(body.name, c.repo);
          assert.deepEqual(body.tags, [c.tag]);
        });
      }
    });
  }
});
