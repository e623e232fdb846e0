import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { sha256 } from '../helpers/oci.js';
import {
  MT_INDEX,
  MT_MANIFEST,
  findRef,
  imageBlobs,
  indexBlobs,
  makeLayoutImage,
  makeMultiPlatformIndex,
  readLayout,
  writeLayout,
  type LayoutImage,
  type LayoutIndex,
} from '../helpers/oci-layout.js';
import { onPath, runCommand, type CommandResult } from '../helpers/e2e-process.js';
import { blobProblem, errorCode, getManifest } from '../helpers/e2e-http.js';

/**
 * Interop with a real client: skopeo (containers/image) copies OCI image
 * layouts built from our own bytes into berth and back, inspects, lists tags
 * and deletes. Digests are computed by the layout helper with node:crypto.
 */

const SKOPEO = onPath('skopeo');
const skip = SKOPEO === undefined ? 'skopeo is not on PATH (Debian/Ubuntu: apt-get install skopeo)' : false;
const SKOPEO_TIMEOUT_MS = 60_000;

function skopeo(args: string[]): Promise<CommandResult> {
  // --insecure-policy: the test must not depend on the host's /etc/containers/policy.json.
  return runCommand(SKOPEO!, ['--insecure-policy', ...args], SKOPEO_TIMEOUT_MS);
}

function assertOk(r: CommandResult): void {
  assert.equal(r.code, 0, `skopeo failed:\n${r.describe()}`);
}

interface RequestLog {
  msg?: string;
  method?: string;
  url?: string;
  status?: number;
}

/** The server's request log lines (pino JSON on stdout). */
function requestLog(server: TestServer): RequestLog[] {
  const out: RequestLog[] = [];
  for (const line of server.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as RequestLog;
      if (rec.msg === 'request') out.push(rec);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Every blob of the image is fetchable from `repo` with its digest and size. */
async function assertImageServed(base: string, repo: string, img: LayoutImage): Promise<void> {
  const m = await getManifest(base, repo, img.manifest.digest);
  assert.equal(m.status, 200, `${repo}@${img.manifest.digest}: ${m.bytes.toString()}`);
  assert.equal(m.digestHeader, img.manifest.digest);
  assert.ok(m.bytes.equals(img.manifest.bytes), `${repo}@${img.manifest.digest}: manifest bytes changed`);
  assert.equal(m.contentType, MT_MANIFEST);
  for (const b of [img.config, ...img.layers.map((l) => l.blob)]) {
    const problem = await blobProblem(base, repo, b.digest, b.size);
    assert.equal(problem, undefined, problem);
  }
}

async function assertIndexServed(base: string, repo: string, tag: string, idx: LayoutIndex): Promise<void> {
  const m = await getManifest(base, repo, tag);
  assert.equal(m.status, 200, `${repo}:${tag}: ${m.bytes.toString()}`);
  assert.equal(m.digestHeader, idx.index.digest, 'index digest changed in the copy');
  assert.ok(m.bytes.equals(idx.index.bytes), 'index bytes changed in the copy');
  assert.equal(m.contentType, MT_INDEX);
  for (const img of idx.images) await assertImageServed(base, repo, img);
}

/** The layout at `dir` names `tag` -> digest and holds every blob with the original bytes. */
async function assertLayoutHolds(dir: string, tag: string, digest: string, blobs: { digest: string; bytes: Buffer }[]): Promise<void> {
  const layout = await readLayout(dir);
  const ref = findRef(layout, tag);
  assert.ok(ref, `index.json of ${dir} does not name ${tag}: ${JSON.stringify(layout.index)}`);
  assert.equal(ref.digest, digest);
  for (const b of blobs) {
    const got = layout.blobs.get(b.digest);
    assert.ok(got, `blob ${b.digest} missing from ${dir}`);
    assert.ok(got.equals(b.bytes), `blob ${b.digest} has different bytes in ${dir}`);
  }
  for (const [digest, bytes] of layout.blobs) assert.equal(sha256(bytes), digest, `blob file ${digest} does not hash to its name`);
}

describe('skopeo interop', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  const single = makeLayoutImage({ seed: 11 }); // two gzipped layers: nothing for skopeo to convert
  const multi = makeMultiPlatformIndex(21); // arm64 has an uncompressed tar layer
  let srcSingle: string;
  let srcMulti: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
    srcSingle = join(work, 'src-single');
    srcMulti = join(work, 'src-multi');
    await writeLayout(srcSingle, [{ tag: 'v1', descriptor: single.descriptor }], imageBlobs(single));
    await writeLayout(srcMulti, [{ tag: 'multi', descriptor: multi.descriptor }], indexBlobs(multi));
    // info level: the mount check below reads the request log.
    server = await startServer({ env: { BERTH_LOG_LEVEL: 'info' } });
    host = server.host;
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('copy oci layout -> berth keeps the image manifest digest and bytes', async () => {
    const r = await skopeo(['copy', '--dest-tls-verify=false', `oci:${srcSingle}:v1`, `docker://${host}/e2e/single:v1`]);
    assertOk(r);
    const m = await getManifest(server.url, 'e2e/single', 'v1');
    assert.equal(m.status, 200, m.bytes.toString());
    assert.equal(m.digestHeader, single.manifest.digest, 'berth serves a different digest than the layout holds');
    assert.ok(m.bytes.equals(single.manifest.bytes));
    await assertImageServed(server.url, 'e2e/single', single);
  });

  test('copy --all of a multi-platform index keeps index and child digests (--preserve-digests)', async () => {
    // The arm64 image has an uncompressed layer, which skopeo would gzip for a
    // registry destination; --preserve-digests forbids any such change.
    const r = await skopeo([
      'copy', '--all', '--preserve-digests', '--dest-tls-verify=false',
      `oci:${srcMulti}:multi`, `docker://${host}/e2e/multi:multi`,
    ]);
    assertOk(r);
    await assertIndexServed(server.url, 'e2e/multi', 'multi', multi);
  });

  test('copy berth -> oci layout returns the same manifest and blob bytes', async () => {
    const dst = join(work, 'back-single');
    const r = await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/e2e/single:v1`, `oci:${dst}:v1`]);
    assertOk(r);
    await assertLayoutHolds(dst, 'v1', single.manifest.digest, imageBlobs(single));
  });

  test('copy --all berth -> oci layout returns the same index, manifests and blobs', async () => {
    const dst = join(work, 'back-multi');
    // skopeo gzips uncompressed layers for an oci: destination too (containers/image
    // oci dest wants compressed layers), so the arm64 image needs --preserve-digests.
    const r = await skopeo([
      'copy', '--all', '--preserve-digests', '--src-tls-verify=false',
      `docker://${host}/e2e/multi:multi`, `oci:${dst}:multi`,
    ]);
    assertOk(r);
    await assertLayoutHolds(dst, 'multi', multi.index.digest, indexBlobs(multi));
  });

  test('inspect reports the manifest digest, layers and platform', async () => {
    const r = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/e2e/single:v1`]);
    assertOk(r);
    const info = JSON.parse(r.stdout) as { Digest: string; Layers: string[]; Os: string; Architecture: string };
    assert.equal(info.Digest, single.manifest.digest);
    assert.deepEqual(info.Layers, single.layers.map((l) => l.blob.digest));
    assert.equal(info.Os, 'linux');
    assert.equal(info.Architecture, 'amd64');
  });

  test('inspect --raw prints the stored manifest and index bytes', async () => {
    const a = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/single:v1`]);
    assertOk(a);
    assert.equal(a.stdout.trimEnd(), single.manifest.bytes.toString('utf8'));
    const b = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/multi:multi`]);
    assertOk(b);
    assert.equal(b.stdout.trimEnd(), multi.index.bytes.toString('utf8'));
  });

  test('inspect of the index with --override-arch arm64 resolves the arm64 image', async () => {
    const arm = multi.images.find((i) => i.platform.architecture === 'arm64')!;
    const r = await skopeo([
      '--override-os', 'linux', '--override-arch', 'arm64',
      'inspect', '--tls-verify=false', `docker://${host}/e2e/multi:multi`,
    ]);
    assertOk(r);
    const info = JSON.parse(r.stdout) as { Layers: string[]; Architecture: string };
    assert.equal(info.Architecture, 'arm64');
    assert.deepEqual(info.Layers, arm.layers.map((l) => l.blob.digest));
  });

  test('list-tags lists every tag of the repository', async () => {
    const c = await skopeo(['copy', '--dest-tls-verify=false', `oci:${srcSingle}:v1`, `docker://${host}/e2e/single:v2`]);
    assertOk(c);
    const r = await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/e2e/single`]);
    assertOk(r);
    const out = JSON.parse(r.stdout) as { Repository: string; Tags: string[] };
    assert.equal(out.Repository, `${host}/e2e/single`);
    assert.deepEqual([...out.Tags].sort(), ['v1', 'v2']);
  });

  test('copy between two berth repositories mounts blobs and keeps the digest', async () => {
    const before = requestLog(server).length;
    const r = await skopeo([
      'copy', '--src-tls-verify=false', '--dest-tls-verify=false',
      `docker://${host}/e2e/single:v1`, `docker://${host}/e2e/copied:v1`,
    ]);
    assertOk(r);
    const m = await getManifest(server.url, 'e2e/copied', 'v1');
    assert.equal(m.status, 200, m.bytes.toString());
    assert.equal(m.digestHeader, single.manifest.digest);
    await assertImageServed(server.url, 'e2e/copied', single);
    // skopeo knows (from the pull in this same copy) that the layers live in
    // e2e/single on this registry, so it asks berth to mount them
    // (distribution-spec "Mounting a blob from another repository": 201).
    const log = requestLog(server).slice(before);
    assert.ok(log.length > 0, 'no request log lines ({"msg":"request",method,url,status}) were found in the server output');
    const mounts = log
      .filter((l) => l.method === 'POST' && (l.url ?? '').startsWith('/v2/e2e/copied/blobs/uploads/') && (l.url ?? '').includes('mount='));
    assert.ok(mounts.length > 0, 'skopeo made no cross-repository mount request; was the blob info cache bypassed?');
    assert.ok(
      mounts.every((l) => l.status === 201),
      `mount requests of blobs that exist in e2e/single must answer 201: ${JSON.stringify(mounts)}`,
    );
  });

  test('copy --all between two berth repositories keeps the index digest', async () => {
    const r = await skopeo([
      'copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false',
      `docker://${host}/e2e/multi:multi`, `docker://${host}/e2e/multi-copy:latest`,
    ]);
    assertOk(r);
    await assertIndexServed(server.url, 'e2e/multi-copy', 'latest', multi);
  });

  test('delete removes the manifest; inspect then fails', async () => {
    const c = await skopeo(['copy', '--dest-tls-verify=false', `oci:${srcSingle}:v1`, `docker://${host}/e2e/doomed:gone`]);
    assertOk(c);
    assertOk(await skopeo(['inspect', '--tls-verify=false', `docker://${host}/e2e/doomed:gone`]));
    const d = await skopeo(['delete', '--tls-verify=false', `docker://${host}/e2e/doomed:gone`]);
    assertOk(d);
    const i = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/e2e/doomed:gone`]);
    assert.notEqual(i.code, 0, `inspect after delete must fail:\n${i.describe()}\nstdout: ${i.stdout}`);
    // skopeo deletes by digest, which removes the manifest and the tags on it.
    const byTag = await getManifest(server.url, 'e2e/doomed', 'gone');
    assert.equal(byTag.status, 404);
    assert.equal(errorCode(byTag.bytes), 'MANIFEST_UNKNOWN');
    const byDigest = await getManifest(server.url, 'e2e/doomed', single.manifest.digest);
    assert.equal(byDigest.status, 404);
    assert.equal(errorCode(byDigest.bytes), 'MANIFEST_UNKNOWN');
    // The same image in other repositories is untouched.
    await assertImageServed(server.url, 'e2e/single', single);
  });

  test('delete is refused when deletion is switched off, and the image stays', async () => {
    const ro = await startServer({ env: { BERTH_REGISTRY_DELETE_ENABLED: 'false' } });
    try {
      assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${srcSingle}:v1`, `docker://${ro.host}/e2e/kept:v1`]));
      const d = await skopeo(['delete', '--tls-verify=false', `docker://${ro.host}/e2e/kept:v1`]);
      assert.notEqual(d.code, 0, `delete must fail when registry.delete.enabled=false:\n${d.describe()}`);
      const m = await getManifest(ro.url, 'e2e/kept', 'v1');
      assert.equal(m.status, 200);
      assert.equal(m.digestHeader, single.manifest.digest);
    } finally {
      await ro.stop();
    }
  });
});
