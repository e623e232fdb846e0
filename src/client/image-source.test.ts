import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ImageSourceError, MAX_CONFIG_BYTES, openImageSource, platformsOf, readConfig, type ImageSource, type ManifestBytes } from './image-source.js';
import { tarOf, type Entry } from '../scan/layers/test-helpers.js';
import { blob, sha256, type Blob } from '../../test/helpers/oci.js';
import {
  MT_INDEX,
  MT_LAYER_GZIP,
  MT_LAYER_TAR,
  MT_MANIFEST,
  imageBlobs,
  indexBlobs,
  makeLayoutImage,
  makeMultiPlatformIndex,
  writeLayout,
  type LayoutImage,
} from '../../test/helpers/oci-layout.js';

/**
 * Image sources over files the test writes: OCI image layouts (test/helpers/oci-layout.ts) and
 * docker save archives assembled here from the format docker documents (moby's image tarball
 * format: an OCI image layout plus `manifest.json` since docker 25, `manifest.json` alone before).
 * Every expected digest is computed by the helpers with node:crypto. Archives made by real tools
 * (skopeo, GNU tar) are read in test/client/image-source.test.ts.
 */

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-image-source-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Opens, runs `fn`, closes. */
async function withSource<T>(ref: string, fn: (s: ImageSource) => Promise<T>): Promise<T> {
  const s = await openImageSource(ref);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Every blob of the image reads back as its bytes. */
async function assertBlobs(s: ImageSource, blobs: Blob[]): Promise<void> {
  for (const b of blobs) assert.ok((await readAll(await s.blob(b.digest, b.size))).equals(b.bytes), `blob ${b.digest}`);
}

const isSourceError = (pattern: RegExp) => (e: unknown) => e instanceof ImageSourceError && pattern.test(e.message);

describe('oci: image layout directories', () => {
  test('one image: root, manifest by digest, verified blobs', async () => {
    const img = makeLayoutImage({ seed: 1, gzip: [true, false] });
    const layout = join(dir, 'single');
    await writeLayout(layout, [{ tag: 'v1', descriptor: img.descriptor }], imageBlobs(img));
    for (const ref of [`oci:${layout}`, `oci:${layout}:v1`]) {
      await withSource(ref, async (s) => {
        assert.equal(s.name, ref);
        const root = await s.root();
        assert.equal(root.digest, img.manifest.digest);
        assert.equal(root.mediaType, MT_MANIFEST);
        assert.ok(root.bytes.equals(img.manifest.bytes));
        assert.equal((await s.manifest(img.manifest.digest)).digest, img.manifest.digest);
        await assertBlobs(s, [img.config, ...img.layers.map((l) => l.blob)]);
        const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.config.digest, size: img.config.size };
        assert.ok((await readConfig(s, config)).equals(img.config.bytes));
        await assert.rejects(readConfig(s, { ...config, size: MAX_CONFIG_BYTES + 1 }), isSourceError(/is 8388609 bytes; the limit is 8388608/));
        await assert.rejects(s.blob(img.config.digest, img.config.size + 1), isSourceError(/is \d+ bytes, not/));
        await assert.rejects(s.blob(sha256('not here')), isSourceError(/not in the layout/));
        await assert.rejects(s.blob('md5:abc'), isSourceError(/unsupported digest algorithm md5/));
        await assert.rejects(s.manifest(img.config.digest), isSourceError(/not a valid manifest/));
      });
    }
  });

  test('tags select by org.opencontainers.image.ref.name; a missing or absent tag lists the names', async () => {
    const a = makeLayoutImage({ seed: 2 });
    const b = makeLayoutImage({ seed: 3 });
    const layout = join(dir, 'two');
    await writeLayout(layout, [{ tag: 'a', descriptor: a.descriptor }, { tag: 'b', descriptor: b.descriptor }], [...imageBlobs(a), ...imageBlobs(b)]);
    assert.equal(await withSource(`oci:${layout}:b`, async (s) => (await s.root()).digest), b.manifest.digest);
    await assert.rejects(openImageSource(`oci:${layout}`), isSourceError(/holds 2 images; name one of: a; b/));
    await assert.rejects(openImageSource(`oci:${layout}:c`), isSourceError(/no image named c; it holds: a; b/));
  });

  test('a path with colons: the whole path when it is a directory, else the part before the last fitting colon', async () => {
    const img = makeLayoutImage({ seed: 4 });
    const layout = join(dir, 'with:colon');
    await writeLayout(layout, [{ tag: 'latest', descriptor: img.descriptor }], imageBlobs(img));
    assert.equal(await withSource(`oci:${layout}`, async (s) => (await s.root()).digest), img.manifest.digest);
    assert.equal(await withSource(`oci:${layout}:latest`, async (s) => (await s.root()).digest), img.manifest.digest);
    await assert.rejects(openImageSource(`oci:${join(dir, 'with')}`), isSourceError(/there is no directory/));
    await assert.rejects(openImageSource(`oci:${layout}:bad tag`), isSourceError(/there is no directory .* \(nor one before a colon/));
    await assert.rejects(openImageSource('oci:'), isSourceError(/needs a directory/));
    await assert.rejects(openImageSource(`oci:${dir}`), isSourceError(/no oci-layout file/));
  });

  test('a multi-platform index: root is the index, children by digest, platformsOf', async () => {
    const idx = makeMultiPlatformIndex(10);
    const layout = join(dir, 'multi');
    await writeLayout(layout, [{ tag: 'm', descriptor: idx.descriptor }], indexBlobs(idx));
    await withSource(`oci:${layout}`, async (s) => {
      const root = await s.root();
      assert.equal(root.digest, idx.index.digest);
      assert.equal(root.mediaType, MT_INDEX);
      const platforms = platformsOf(root);
      assert.deepEqual(platforms.map((p) => p.platform), ['linux/amd64', 'linux/arm64']);
      for (const [i, p] of platforms.entries()) {
        const child = await s.manifest(p.descriptor.digest);
        assert.equal(child.digest, idx.images[i]!.manifest.digest);
        await assertBlobs(s, [idx.images[i]!.config, ...idx.images[i]!.layers.map((l) => l.blob)]);
      }
    });
  });

  test('changed bytes on disk: manifests and blob streams fail with the digest they hash to', async () => {
    const img = makeLayoutImage({ seed: 5, gzip: [false] });
    const layout = join(dir, 'tampered');
    await writeLayout(layout, [{ tag: 'v1', descriptor: img.descriptor }], imageBlobs(img));
    const layerFile = join(layout, 'blobs', 'sha256', img.layers[0]!.blob.digest.slice(7));
    const bytes = await readFile(layerFile);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(layerFile, bytes);
    await writeFile(join(layout, 'blobs', 'sha256', img.manifest.digest.slice(7)), Buffer.concat([img.manifest.bytes, Buffer.from(' ')]));
    await withSource(`oci:${layout}`, async (s) => {
      await assert.rejects(s.root(), isSourceError(/hashes to sha256:/));
      await assert.rejects(async () => readAll(await s.blob(img.layers[0]!.blob.digest)), isSourceError(/hashes to sha256:/));
      await writeFile(layerFile, bytes.subarray(0, 50));
      await assert.rejects(async () => readAll(await s.blob(img.layers[0]!.blob.digest)), isSourceError(/hashes to/));
      await assert.rejects(s.blob(img.layers[0]!.blob.digest, img.layers[0]!.blob.size), isSourceError(/is 50 bytes, not/));
    });
  });
});

describe('platformsOf', () => {
  const index = (manifests: unknown[]): ManifestBytes => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT_INDEX, manifests }));
    return { bytes, mediaType: MT_INDEX, digest: sha256(bytes) };
  };
  const d = (n: number, extra: object = {}) => ({ mediaType: MT_MANIFEST, digest: sha256(String(n)), size: n, ...extra });

  test('skips BuildKit attestation manifests and descriptors that are not manifests; variants and missing platforms', () => {
    // Attestation manifests as docs.docker.com "Image attestation storage" describes them: platform
    // unknown/unknown, annotated with vnd.docker.reference.type and .digest.
    const attestation = { platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': sha256('1') } };
    const got = platformsOf(
      index([
        d(1, { platform: { os: 'linux', architecture: 'amd64' } }),
        d(2, attestation),
        d(3, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
        d(4),
        { mediaType: 'application/vnd.example.thing', digest: sha256('5'), size: 5 },
      ]),
    );
    assert.deepEqual(
      got.map((p) => [p.platform, p.descriptor.size]),
      [
        ['linux/amd64', 1],
        ['linux/arm/v7', 3],
        ['unknown', 4],
      ],
    );
  });

  test('refuses what is not an index', () => {
    const img = makeLayoutImage({ seed: 6 });
    assert.throws(() => platformsOf({ bytes: img.manifest.bytes, mediaType: MT_MANIFEST, digest: img.manifest.digest }), isSourceError(/not an image index/));
    assert.throws(() => platformsOf({ bytes: Buffer.from('{'), mediaType: MT_INDEX, digest: sha256('{') }), isSourceError(/not an image index/));
  });
});

// --- docker save archives -----------------------------------------------------------------------

const hex = (digest: string) => digest.slice('sha256:'.length);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function archive(name: string, entries: Entry[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, await tarOf(entries));
  return path;
}

/** The files of docker 25's archive format for `img` (blobs, index.json, oci-layout, manifest.json, repositories). */
function docker25Entries(img: LayoutImage, ociManifest: Blob = img.manifest): Entry[] {
  const blobs = [img.config, ...img.layers.map((l) => l.blob), ociManifest];
  return [
    { name: 'blobs', type: 'directory' },
    { name: 'blobs/sha256', type: 'directory' },
    ...blobs.map((b) => ({ name: `blobs/sha256/${hex(b.digest)}`, body: b.bytes })),
    {
      name: 'index.json',
      body: json({
        schemaVersion: 2,
        mediaType: MT_INDEX,
        manifests: [
          {
            mediaType: MT_MANIFEST,
            digest: ociManifest.digest,
            size: ociManifest.size,
            annotations: { 'io.containerd.image.name': 'docker.io/team/app:1', 'org.opencontainers.image.ref.name': '1' },
          },
        ],
      }),
    },
    { name: 'manifest.json', body: json([{ Config: `blobs/sha256/${hex(img.config.digest)}`, RepoTags: ['team/app:1'], Layers: img.layers.map((l) => `blobs/sha256/${hex(l.blob.digest)}`) }]) },
    { name: 'oci-layout', body: '{"imageLayoutVersion": "1.0.0"}' },
    { name: 'repositories', body: json({ 'team/app': { '1': hex(img.layers.at(-1)!.blob.digest) } }) },
  ];
}

/** The legacy format (docker before 25, podman, skopeo): `<hex>.json` config, layers behind `<id>/layer.tar` symlinks. */
function legacyEntries(img: LayoutImage, tags: string[], prefix = ''): Entry[] {
  const entries: Entry[] = [{ name: `${prefix}${hex(img.config.digest)}.json`, body: img.config.bytes }];
  const layers: string[] = [];
  for (const [i, l] of img.layers.entries()) {
    entries.push({ name: `${prefix}${hex(l.blob.digest)}.tar`, body: l.blob.bytes });
    entries.push({ name: `${prefix}layer${i}`, type: 'directory' }, { name: `${prefix}layer${i}/layer.tar`, type: 'symlink', linkname: `../${hex(l.blob.digest)}.tar` });
    layers.push(`${prefix}layer${i}/layer.tar`);
  }
  return [...entries, { name: 'manifest.json', body: json([{ Config: `${prefix}${hex(img.config.digest)}.json`, RepoTags: tags, Layers: layers }]) }];
}

const synthesized = (root: ManifestBytes) => JSON.parse(root.bytes.toString()) as { mediaType: string; config: { mediaType: string; digest: string; size: number }; layers: { mediaType: string; digest: string; size: number }[] };

describe('docker-archive: docker save tarballs', () => {
  test('docker 25+: the OCI layout inside is read as it is, selected by name', async () => {
    const img = makeLayoutImage({ seed: 20, gzip: [false, false] });
    const file = await archive('docker25.tar', docker25Entries(img));
    for (const ref of [`docker-archive:${file}`, `docker-archive:${file}:team/app:1`, `docker-archive:${file}:docker.io/team/app:1`, `docker-archive:${file}:team/app`]) {
      if (ref.endsWith('team/app')) {
        await assert.rejects(openImageSource(ref), isSourceError(/no image named team\/app; it holds: docker.io\/team\/app:1, 1/));
        continue;
      }
      await withSource(ref, async (s) => {
        const root = await s.root();
        assert.equal(root.digest, img.manifest.digest, ref);
        assert.ok(root.bytes.equals(img.manifest.bytes));
        await assertBlobs(s, [img.config, ...img.layers.map((l) => l.blob)]);
      });
    }
  });

  test('docker 25.0.0 misordered layers (moby#47150): manifest.json wins', async () => {
    const img = makeLayoutImage({ seed: 21, gzip: [false, false] });
    const reversed = JSON.parse(img.manifest.bytes.toString()) as { layers: unknown[] };
    reversed.layers.reverse();
    const file = await archive('docker2500.tar', docker25Entries(img, blob(JSON.stringify(reversed))));
    await withSource(`docker-archive:${file}`, async (s) => {
      const root = await s.root();
      const m = synthesized(root);
      assert.deepEqual(m.layers.map((l) => l.digest), img.layers.map((l) => l.blob.digest));
      assert.equal(m.config.digest, img.config.digest);
      assert.equal(root.digest, sha256(root.bytes));
      await assertBlobs(s, [img.config, ...img.layers.map((l) => l.blob)]);
    });
  });

  test('legacy layout: a manifest made from computed digests, layers typed by their first bytes, links followed', async () => {
    const img = makeLayoutImage({ seed: 22, gzip: [true, false] });
    const file = await archive('legacy.tar', legacyEntries(img, ['team/app:1', 'team/app:latest']));
    await withSource(`docker-archive:${file}:team/app`, async (s) => {
      const root = await s.root();
      assert.equal(root.mediaType, MT_MANIFEST);
      assert.equal(root.digest, sha256(root.bytes));
      assert.deepEqual((await s.manifest(root.digest)).digest, root.digest);
      await assert.rejects(s.manifest(img.manifest.digest), isSourceError(/holds one image manifest/));
      const m = synthesized(root);
      assert.deepEqual(m.config, { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.config.digest, size: img.config.size });
      assert.deepEqual(
        m.layers,
        img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob.digest, size: l.blob.size })),
      );
      assert.deepEqual(m.layers.map((l) => l.mediaType), [MT_LAYER_GZIP, MT_LAYER_TAR]);
      await assertBlobs(s, [img.config, ...img.layers.map((l) => l.blob)]);
      await assert.rejects(s.blob(sha256('other')), isSourceError(/not part of the image/));
    });
  });

  test('several images: none named is an error listing RepoTags; a name selects', async () => {
    const a = makeLayoutImage({ seed: 23 });
    const b = makeLayoutImage({ seed: 24 });
    const entries = [
      { name: `${hex(a.config.digest)}.json`, body: a.config.bytes },
      { name: `${hex(b.config.digest)}.json`, body: b.config.bytes },
      ...[...a.layers, ...b.layers].map((l) => ({ name: `${hex(l.blob.digest)}.tar`, body: l.blob.bytes })),
      {
        name: 'manifest.json',
        body: json([
          { Config: `${hex(a.config.digest)}.json`, RepoTags: ['alpine:3'], Layers: a.layers.map((l) => `${hex(l.blob.digest)}.tar`) },
          { Config: `${hex(b.config.digest)}.json`, RepoTags: null, Layers: b.layers.map((l) => `${hex(l.blob.digest)}.tar`) },
        ]),
      },
    ];
    const file = await archive('two-images.tar', entries);
    await assert.rejects(openImageSource(`docker-archive:${file}`), isSourceError(/holds 2 images; name one of: alpine:3; \(unnamed\)/));
    for (const name of ['alpine:3', 'docker.io/library/alpine:3', 'index.docker.io/alpine:3']) {
      assert.equal(await withSource(`docker-archive:${file}:${name}`, async (s) => synthesized(await s.root()).config.digest), a.config.digest, name);
    }
  });

  test('bytes changed after opening are caught when the blob is read', async () => {
    const img = makeLayoutImage({ seed: 25, gzip: [false] });
    const file = await archive('changing.tar', legacyEntries(img, ['x:1']));
    await withSource(`docker-archive:${file}`, async (s) => {
      const bytes = await readFile(file);
      const at = bytes.indexOf(img.layers[0]!.blob.bytes) + 700;
      const handle = await open(file, 'r+');
      await handle.write(Buffer.from([bytes[at]! ^ 0xff]), 0, 1, at);
      await handle.close();
      await assert.rejects(async () => readAll(await s.blob(img.layers[0]!.blob.digest)), isSourceError(/hashes to sha256:/));
    });
  });

  describe('hostile archives fail with a clear error', () => {
    const img = makeLayoutImage({ seed: 26, gzip: [false] });
    const base = legacyEntries(img, ['x:1']);
    const withManifest = (m: unknown) => [...base.filter((e) => e.name !== 'manifest.json'), { name: 'manifest.json', body: typeof m === 'string' ? m : json(m) }];
    const cases: [string, () => Promise<Buffer> | Buffer, RegExp][] = [
      ['manifest.json not JSON', () => tarOf(withManifest('[{"Config":')), /manifest.json is not valid JSON/],
      ['manifest.json not a list', () => tarOf(withManifest({ Config: 'x' })), /must be a list of 1 to 1000 images/],
      ['Config not a string', () => tarOf(withManifest([{ Config: 7, Layers: [] }])), /\.Config must be a path/],
      ['RepoTags not strings', () => tarOf(withManifest([{ Config: 'a.json', RepoTags: [1], Layers: [] }])), /RepoTags must be a list of strings/],
      ['a .. layer path', () => tarOf(withManifest([{ Config: `${hex(img.config.digest)}.json`, Layers: ['../etc/passwd'] }])), /Layers\[0\] \("\.\.\/etc\/passwd"\) leaves the archive/],
      ['an absolute config path', () => tarOf(withManifest([{ Config: '/etc/passwd', Layers: [] }])), /Config \("\/etc\/passwd"\) leaves the archive/],
      ['a missing layer', () => tarOf(withManifest([{ Config: `${hex(img.config.digest)}.json`, Layers: ['nope.tar'] }])), /names the layer nope.tar, which is not in the archive/],
      ['a config that is not JSON', () => tarOf([{ name: 'c.json', body: 'not json' }, { name: 'manifest.json', body: json([{ Config: 'c.json', Layers: [] }]) }]), /config c.json is not a JSON object/],
      ['an oversized config', () => tarOf([{ name: 'c.json', body: Buffer.alloc(8 * 1024 * 1024 + 1, 0x20) }, { name: 'manifest.json', body: json([{ Config: 'c.json', Layers: [] }]) }]), /config c.json is 8388609 bytes; the limit is 8388608/],
      ['a symlink loop', () => tarOf([...withManifest([{ Config: 'loop', Layers: [] }]), { name: 'loop', type: 'symlink', linkname: 'loop' }]), /goes through more than 16 links/],
      ['a symlink out of the archive', () => tarOf([...withManifest([{ Config: 'out', Layers: [] }]), { name: 'out', type: 'symlink', linkname: '../../etc/passwd' }]), /names the config out, which is not in the archive/],
      ['two entries with one name', () => tarOf([...base, { name: 'manifest.json', body: '[]' }]), /has two entries named manifest.json/],
      ['no manifest.json or layout', () => tarOf([{ name: 'hello.txt', body: 'hi' }]), /neither manifest.json nor an OCI layout/],
      ['a gzipped archive', async () => gzipSync(await tarOf(base)), /is gzip-compressed; decompress it first/],
      ['a truncated archive', async () => (await tarOf(base)).subarray(0, 2000), /is not a readable tar archive/],
      ['not a tar at all', () => Buffer.alloc(4096, 0x41), /is not a readable tar archive/],
      ['index.json with "manifests": null (moby#47210)', () => tarOf([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: '{"schemaVersion":2,"manifests":null}' }]), /index.json: manifests must be an array/],
    ];
    for (const [what, make, expected] of cases) {
      test(what, async () => {
        const file = join(dir, `hostile-${what.replace(/\W+/g, '-')}.tar`);
        await writeFile(file, await make());
        await assert.rejects(openImageSource(`docker-archive:${file}`), (e: unknown) => {
          assert.ok(e instanceof ImageSourceError, `${what}: ${String(e)}`);
          assert.match(e.message, expected);
          assert.ok(e.message.startsWith(`docker-archive:${file}: `));
          return true;
        });
      });
    }
  });

  test('no such file', async () => {
    await mkdir(join(dir, 'a-directory'), { recursive: true });
    await assert.rejects(openImageSource(`docker-archive:${join(dir, 'a-directory')}`), isSourceError(/there is no file/));
    await assert.rejects(openImageSource(`docker-archive:${join(dir, 'missing.tar')}:x:1`), isSourceError(/there is no file .*\(nor one before a colon/));
  });
});

test('registry references that do not parse are ImageSourceErrors; digests are checked before any request', async () => {
  await assert.rejects(openImageSource('Not/A/Valid:ref!'), isSourceError(/invalid/));
  const s = await openImageSource('127.0.0.1:9/team/app:1', { timeoutMs: 1000 });
  await assert.rejects(s.manifest('sha256:nothex'), isSourceError(/digest/));
  await assert.rejects(s.blob('nope'), isSourceError(/not a digest/));
});
