import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ImageSourceError, openImageSource, platformsOf, type ImageSource, type ManifestBytes } from '../../src/client/image-source.js';
import { RemoteRegistryError } from '../../src/client/registry-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startAuthServer, type AuthServer } from '../helpers/auth.js';
import { sha256 } from '../helpers/oci.js';
import { onPath, runCommand } from '../helpers/e2e-process.js';
import { MT_LAYER_TAR, imageBlobs, indexBlobs, makeLayoutImage, makeMultiPlatformIndex, writeLayout, type LayoutImage, type LayoutIndex } from '../helpers/oci-layout.js';
import { assertOk, distributionAvailable, skopeo, startCountingProxy, startDistribution } from '../helpers/upstream-registry.js';

/**
 * Image sources fed by real tools: docker save archives written by skopeo (the legacy layout
 * podman and docker before 25 write too) and re-packed by GNU tar in its GNU and POSIX (pax)
 * formats, and images pushed by skopeo into a berth server (open and with access control) and into
 * CNCF Distribution behind a proxy that corrupts blobs. Expected digests come from the test's
 * layout helper (node:crypto); a layer's digest in an archive is its uncompressed tar's, the
 * diff_id the helper computed.
 */

const skip = onPath('skopeo') === undefined ? 'skopeo is not on PATH' : false;

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function withSource<T>(ref: string, fn: (s: ImageSource) => Promise<T>, opts = {}): Promise<T> {
  const s = await openImageSource(ref, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

type Manifest = { config: { digest: string }; layers: { mediaType: string; digest: string; size: number }[] };
const parse = (m: ManifestBytes) => JSON.parse(m.bytes.toString('utf8')) as Manifest;

/** The archive's image is `img` with uncompressed layers: config as is, each layer's digest its diff_id, bytes that hash to it. */
async function assertArchiveHolds(s: ImageSource, img: LayoutImage): Promise<void> {
  const root = await s.root();
  assert.equal(root.digest, sha256(root.bytes));
  const m = parse(root);
  assert.equal(m.config.digest, img.config.digest);
  assert.deepEqual(m.layers.map((l) => l.digest), img.layers.map((l) => l.diffId));
  assert.deepEqual(m.layers.map((l) => l.mediaType), img.layers.map(() => MT_LAYER_TAR));
  assert.ok((await readAll(await s.blob(img.config.digest, img.config.size))).equals(img.config.bytes));
  for (const l of m.layers) assert.equal(sha256(await readAll(await s.blob(l.digest, l.size))), l.digest);
}

let dir: string;
let img: LayoutImage;
let multi: LayoutIndex;
let layout: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-client-sources-'));
  img = makeLayoutImage({ seed: 60, gzip: [true, false] });
  multi = makeMultiPlatformIndex(61);
  layout = join(dir, 'layout');
  await writeLayout(layout, [{ tag: 'v1', descriptor: img.descriptor }, { tag: 'multi', descriptor: multi.descriptor }], [...imageBlobs(img), ...indexBlobs(multi)]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('docker save archives written by real tools', { skip }, () => {
  let archive: string;
  before(async () => {
    archive = join(dir, 'skopeo.tar');
    assertOk(await skopeo(['copy', `oci:${layout}:v1`, `docker-archive:${archive}:team/app:1`]));
  });

  test('skopeo docker-archive: configs and layers by computed digest, selected by RepoTags', { timeout: 60_000 }, async () => {
    await withSource(`docker-archive:${archive}`, (s) => assertArchiveHolds(s, img));
    await withSource(`docker-archive:${archive}:team/app:1`, (s) => assertArchiveHolds(s, img));
    await assert.rejects(openImageSource(`docker-archive:${archive}:team/app:2`), (e: unknown) => e instanceof ImageSourceError && /it holds: docker.io\/team\/app:1/.test(e.message));
  });

  test('GNU tar re-packs (GNU long names, POSIX pax headers): entries found past their extended headers', { skip: onPath('tar') ? false : 'tar is not on PATH', timeout: 60_000 }, async () => {
    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    let r = await runCommand('tar', ['-xf', archive, '-C', unpacked]);
    assert.equal(r.code, 0, r.describe());
    // Move everything under a directory whose name is longer than ustar's 100-byte name field.
    const long = `${'deep-directory-name-'.repeat(8)}end`;
    const tree = join(dir, 'tree');
    await mkdir(tree);
    r = await runCommand('cp', ['-a', unpacked, join(tree, long)]);
    assert.equal(r.code, 0, r.describe());
    const manifest = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    const moved = manifest.map((m) => ({ ...m, Config: `${long}/${m.Config}`, Layers: m.Layers.map((l) => `${long}/${l}`) }));
    await writeFile(join(tree, 'manifest.json'), JSON.stringify(moved));
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      r = await runCommand('tar', [`--format=${format}`, '-cf', file, '-C', tree, '.']);
      assert.equal(r.code, 0, r.describe());
      await withSource(`docker-archive:${file}`, (s) => assertArchiveHolds(s, img));
    }
  });
});

describe('registry sources', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { BERTH_GC_SCHEDULE: '', BERTH_LIFECYCLE_SCHEDULE: '' } });
    assertOk(await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${server.host}/team/app:1`]));
    assertOk(await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${server.host}/team/multi:1`]));
  });
  after(async () => {
    await server.stop();
  });

  test('a berth server: by tag and by digest, index children, verified blobs', { timeout: 60_000 }, async () => {
    for (const ref of [`${server.host}/team/app:1`, `${server.host}/team/app@${img.manifest.digest}`, `${server.host}/team/app:1@${img.manifest.digest}`]) {
      await withSource(ref, async (s) => {
        const root = await s.root();
        assert.equal(root.digest, img.manifest.digest, ref);
        assert.ok(root.bytes.equals(img.manifest.bytes));
        for (const b of [img.config, ...img.layers.map((l) => l.blob)]) assert.ok((await readAll(await s.blob(b.digest, b.size))).equals(b.bytes));
      });
    }
    await withSource(`${server.host}/team/multi:1`, async (s) => {
      const root = await s.root();
      assert.equal(root.digest, multi.index.digest);
      const platforms = platformsOf(root);
      assert.deepEqual(platforms.map((p) => p.platform), ['linux/amd64', 'linux/arm64']);
      assert.equal((await s.manifest(platforms[1]!.descriptor.digest)).digest, multi.images[1]!.manifest.digest);
    });
    await withSource(`${server.host}/team/app:nope`, async (s) => {
      await assert.rejects(s.root(), (e: unknown) => e instanceof ImageSourceError && /manifest nope is not in 127\.0\.0\.1:\d+\/team\/app/.test(e.message));
      await assert.rejects(s.blob(img.config.digest, img.config.size + 1), (e: unknown) => e instanceof ImageSourceError && /is \d+ bytes, not/.test(e.message));
    });
    // A digest that is not the manifest's: the registry has no such manifest, or the bytes would not match.
    await withSource(`${server.host}/team/app@${img.config.digest}`, async (s) => {
      await assert.rejects(s.root(), (e: unknown) => e instanceof ImageSourceError || e instanceof RemoteRegistryError);
    });
  });
});

describe('a registry with access control', { skip }, () => {
  let as: AuthServer;
  before(async () => {
    as = await startAuthServer();
    assertOk(await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', `${as.admin.username}:${as.admin.password}`, `oci:${layout}:v1`, `docker://${as.server.host}/team/app:1`]));
  });
  after(async () => {
    await as.server.stop();
  });

  test('credentials come from the callback, asked with the registry URL', { timeout: 60_000 }, async () => {
    const asked: string[] = [];
    const credentials = async (url: string) => {
      asked.push(url);
      return as.admin;
    };
    await withSource(`${as.server.host}/team/app:1`, async (s) => assert.equal((await s.root()).digest, img.manifest.digest), { credentials });
    assert.deepEqual(asked, [as.url]);
    await withSource(`${as.server.host}/team/app:1`, async (s) => {
      await assert.rejects(s.root(), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'refused');
    });
  });
});

describe('CNCF Distribution behind a proxy that corrupts blobs', { skip: skip || (distributionAvailable() ? false : 'docker-registry is not installed') }, () => {
  test('the blob stream fails with the digest the bytes hash to', { timeout: 60_000 }, async () => {
    const registry = await startDistribution(join(dir, 'distribution'));
    const proxy = await startCountingProxy(registry.url);
    try {
      assertOk(await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.host}/team/app:1`]));
      await withSource(`${proxy.host}/team/app:1`, async (s) => {
        assert.equal((await s.root()).digest, img.manifest.digest);
        const layer = img.layers[0]!.blob;
        assert.ok((await readAll(await s.blob(layer.digest, layer.size))).equals(layer.bytes));
        proxy.fault = 'corrupt';
        await assert.rejects(async () => readAll(await s.blob(layer.digest, layer.size)), (e: unknown) => e instanceof ImageSourceError && /hashes to sha256:/.test(e.message));
        proxy.fault = 'truncate';
        // Cut before the headers (the client reports it) or in the body (the stream does).
        await assert.rejects(async () => readAll(await s.blob(layer.digest, layer.size)), (e: unknown) => e instanceof ImageSourceError || e instanceof RemoteRegistryError);
      });
    } finally {
      await proxy.close();
      await registry.stop();
    }
  });
});
