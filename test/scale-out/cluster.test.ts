import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImage, randomBlob, sha256 } from '../helpers/oci.js';
import { ACCEPT_ALL_MANIFESTS, errorCode } from '../helpers/e2e-http.js';
import { onPath, runCommand, sleep, type CommandResult } from '../helpers/e2e-process.js';
import {
  findRef,
  imageBlobs,
  indexBlobs,
  makeLayoutImage,
  makeMultiPlatformIndex,
  readLayout,
  writeLayout,
  MT_INDEX,
  MT_MANIFEST,
} from '../helpers/oci-layout.js';
import { Cluster, chooseClusterStorage, createTestDatabase, type ClusterStorage, type TestDatabase } from '../helpers/cluster.js';
import { Ledger, assertBlobOn, assertImageOn, assertManifestOn, layoutToPush, tagsOn } from '../helpers/cluster-checks.js';
import { RoundRobinProxy } from '../helpers/round-robin-proxy.js';
import { RoundRobinClient, httpRequest, type UploadResult } from '../helpers/round-robin-client.js';

/**
 * Scale-out: three identical berth processes on one PostgreSQL database and
 * one blob storage, with no session affinity. Every request of a push may
 * land on another node; a node may die mid-upload; pushes of the same blob
 * and tag may race on different nodes. Whatever happens, every node serves
 * the same, complete content, and the database holds each fact exactly once.
 * Digests are computed here with node:crypto; expected rows come from what
 * the test pushed.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const NODES = 3;
const TEST_TIMEOUT_MS = 300_000;

/** Chunk sizes from 256 KiB to 1 MiB, varied deterministically by seed and chunk index. */
function chunkSizes(seed: number): (i: number) => number {
  return (i) => 256 * KiB + ((seed * 7919 + i * 104_729) % (768 * KiB + 1));
}

// --- skopeo --------------------------------------------------------------------------

const SKOPEO = onPath('skopeo');
const skopeoSkip = SKOPEO === undefined ? 'skopeo is not on PATH (Debian/Ubuntu: apt-get install skopeo)' : false;

function skopeo(args: string[]): Promise<CommandResult> {
  // --insecure-policy: independent of the host's /etc/containers/policy.json.
  return runCommand(SKOPEO!, ['--insecure-policy', ...args], 120_000);
}

function assertOk(r: CommandResult): void {
  assert.equal(r.code, 0, `skopeo failed:\n${r.describe()}`);
}

// --- the cluster ---------------------------------------------------------------------

describe('scale-out cluster: three nodes on one PostgreSQL database and one blob storage', () => {
  let db: TestDatabase | undefined;
  let storage: ClusterStorage | undefined;
  let cluster: Cluster | undefined;
  let proxy: RoundRobinProxy | undefined;
  let work: string | undefined;
  const ledger = new Ledger();
  const live = () => cluster!.live();
  const liveUrls = () => live().map((n) => n.url);

  before(async () => {
    const t0 = Date.now();
    db = await createTestDatabase('berth_cluster');
    storage = await chooseClusterStorage();
    console.log(`# cluster storage: ${storage.kind}: ${storage.reason}`);
    cluster = new Cluster({
      BERTH_METADATA_DRIVER: 'postgres',
      BERTH_METADATA_POSTGRES_URL: db.url,
      ...storage.env,
    });
    // All at once: they race to migrate the fresh database.
    await cluster.start(NODES);
    console.log(`# storage and ${NODES} nodes ready in ${Date.now() - t0} ms: ${cluster.nodes.map((n) => `${n.name}=${n.url}`).join(' ')}`);
  });

  after(async () => {
    // Every step runs even when an earlier one fails; the first failure is reported.
    const steps = [
      () => proxy?.stop(),
      () => cluster?.stop(),
      () => db?.drop(),
      () => storage?.cleanup(),
      () => (work ? rm(work, { recursive: true, force: true }) : undefined),
    ];
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  });

  test('every request of a chunked push goes to another node; every node serves every manifest and blob', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    t.diagnostic(`storage: ${storage!.kind}`);
    const client = new RoundRobinClient(liveUrls);
    const images = [0, 1, 2, 3].map((i) =>
      makeImage({ seed: 10 + i, layers: [randomBlob(3 * MiB + 1000 * i + 17, 100 + i), randomBlob(2 * MiB + 333 * i + 1, 200 + i)] }),
    );
    const uploads: UploadResult[] = [];
    for (const [i, img] of images.entries()) {
      const repo = `cluster/rr-${i}`;
      const done = await client.pushImage(repo, 'v1', img, { chunkSize: chunkSizes(i + 1) });
      uploads.push(...done);
      ledger.uploads(done);
      ledger.image(repo, 'v1', img);
    }
    const patches = client.log.filter((r) => r.method === 'PATCH');
    t.diagnostic(`${client.log.length} requests, ${patches.length} PATCH chunks, per node: ${JSON.stringify(countBy(client.log.map((r) => r.node)))}`);
    // The client really spread each upload: POST, PATCHes and PUT hit all three nodes.
    for (const u of uploads) assert.equal(new Set(u.nodes).size, NODES, `upload of ${u.digest} used ${[...new Set(u.nodes)].join(', ')}`);
    assert.ok(patches.length >= images.length * 2 * 3, `expected several PATCH chunks per layer, got ${patches.length}`);

    for (const node of live()) {
      for (const [i, img] of images.entries()) {
        await assertImageOn(node, `cluster/rr-${i}`, 'v1', img);
        assert.deepEqual(await tagsOn(node, `cluster/rr-${i}`), ['v1'], `${node.name}: tags of cluster/rr-${i}`);
      }
    }
  });

  test('skopeo copies in and out through a round-robin TCP proxy (each connection to the next node)', { timeout: TEST_TIMEOUT_MS, skip: skopeoSkip }, async (t) => {
    proxy = await RoundRobinProxy.start(() => live().map((n) => ({ host: '127.0.0.1', port: n.server.port })));
    work = await mkdtemp(join(tmpdir(), 'berth-cluster-skopeo-'));
    const single = makeLayoutImage({ seed: 61, gzip: [true, true, true] });
    const multi = makeMultiPlatformIndex(71);
    const srcSingle = join(work, 'src-single');
    const srcMulti = join(work, 'src-multi');
    await writeLayout(srcSingle, [{ tag: 'v1', descriptor: single.descriptor }], imageBlobs(single));
    await writeLayout(srcMulti, [{ tag: 'multi', descriptor: multi.descriptor }], indexBlobs(multi));
    const host = proxy.host;

    assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${srcSingle}:v1`, `docker://${host}/cluster/skopeo-single:v1`]));
    ledger.image('cluster/skopeo-single', 'v1', layoutToPush(single));
    assertOk(
      await skopeo([
        'copy', '--all', '--preserve-digests', '--dest-tls-verify=false',
        `oci:${srcMulti}:multi`, `docker://${host}/cluster/skopeo-multi:multi`,
      ]),
    );
    for (const img of multi.images) ledger.image('cluster/skopeo-multi', undefined, layoutToPush(img));
    ledger.manifest('cluster/skopeo-multi', multi.index, 'multi');

    // Back out through the proxy into fresh layouts: same digests and bytes.
    const backSingle = join(work, 'back-single');
    const backMulti = join(work, 'back-multi');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/cluster/skopeo-single:v1`, `oci:${backSingle}:v1`]));
    assertOk(
      await skopeo([
        'copy', '--all', '--preserve-digests', '--src-tls-verify=false',
        `docker://${host}/cluster/skopeo-multi:multi`, `oci:${backMulti}:multi`,
      ]),
    );
    for (const [dir, tag, digest, blobs] of [
      [backSingle, 'v1', single.manifest.digest, imageBlobs(single)],
      [backMulti, 'multi', multi.index.digest, indexBlobs(multi)],
    ] as const) {
      const layout = await readLayout(dir);
      assert.equal(findRef(layout, tag)?.digest, digest, `${dir}: index.json names ${JSON.stringify(layout.index.manifests)}`);
      for (const b of blobs) {
        const got = layout.blobs.get(b.digest);
        assert.ok(got, `${dir}: blob ${b.digest} missing`);
        assert.equal(sha256(got), b.digest, `${dir}: blob ${b.digest} has other bytes`);
      }
    }

    const spread = [...proxy.connections.entries()];
    t.diagnostic(`proxy connections per node: ${JSON.stringify(Object.fromEntries(spread))}`);
    assert.ok(spread.filter(([, n]) => n > 0).length >= 2, `skopeo's connections all went to one node: ${JSON.stringify(spread)}`);

    for (const node of live()) {
      await assertImageOn(node, 'cluster/skopeo-single', 'v1', layoutToPush(single));
      await assertManifestOn(node, 'cluster/skopeo-multi', 'multi', multi.index, MT_INDEX);
      for (const img of multi.images) await assertImageOn(node, 'cluster/skopeo-multi', undefined, layoutToPush(img));
    }
  });

  test('concurrent pushes of one blob and of one tag from different nodes end in one consistent state', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const repo = 'cluster/race';
    const other = 'cluster/race-b';
    const shared = randomBlob(2 * MiB + 77, 900);
    const pushers = 6;
    // Each client starts its rotation on another node, so the same step of every push hits different nodes.
    const clients = Array.from({ length: pushers }, (_, i) => new RoundRobinClient(liveUrls, i));
    const images = clients.map((_, i) =>
      makeImage({ seed: 300 + i, layers: [shared, randomBlob(256 * KiB + 100 * i + 1, 400 + i)] }),
    );

    // 1. The same blob, all at once: chunked uploads into one repository, monolithic pushes into two, from every node.
    const sameBlob = await Promise.allSettled([
      ...clients.map((c, i) => c.pushBlobChunked(repo, shared, { chunkSize: chunkSizes(50 + i) })),
      ...live().flatMap((n) =>
        [repo, other].map((r) =>
          httpRequest(`${n.url}/v2/${r}/blobs/uploads/?digest=${shared.digest}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/octet-stream' },
            body: shared.bytes,
          }).then((reply) => {
            if (reply.status !== 201) throw new Error(`monolithic push to ${r} on ${n.name}: ${reply.status} ${reply.body.toString()}`);
            return reply;
          }),
        ),
      ),
    ]);
    const failures = sameBlob.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
    assert.deepEqual(failures, [], 'every concurrent push of the same blob must succeed');
    for (const r of sameBlob) if (r.status === 'fulfilled' && 'uploadId' in r.value) ledger.uploads([r.value]);
    ledger.blob(repo, shared);
    ledger.blob(other, shared);

    // 2. Each pusher's own config and layer, all at once.
    await Promise.all(
      clients.map(async (c, i) => {
        const img = images[i]!;
        const done = await Promise.all([img.config, img.layers[1]!].map((b) => c.pushBlobChunked(repo, b, { chunkSize: chunkSizes(60 + i) })));
        ledger.uploads(done);
      }),
    );

    // 3. Every pusher PUTs its manifest to the same tag at once; three rounds on three tags.
    for (const tag of ['t1', 't2', 't3']) {
      const puts = await Promise.allSettled(clients.map((c, i) => c.putManifest(repo, tag, images[i]!.manifest, MT_MANIFEST)));
      const bad = puts.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      assert.deepEqual(bad, [], `concurrent manifest PUTs to ${repo}:${tag}`);
      const candidates = new Set(images.map((img) => img.manifest.digest));
      const seen: string[] = [];
      for (const node of live()) {
        const r = await httpRequest(`${node.url}/v2/${repo}/manifests/${tag}`, { method: 'GET', headers: { Accept: ACCEPT_ALL_MANIFESTS } });
        assert.equal(r.status, 200, `${node.name}: ${repo}:${tag}: ${r.status} ${r.body.toString()}`);
        assert.ok(candidates.has(sha256(r.body)), `${node.name}: ${repo}:${tag} serves ${sha256(r.body)}, which no pusher pushed`);
        seen.push(sha256(r.body));
      }
      assert.equal(new Set(seen).size, 1, `the nodes disagree on ${repo}:${tag}: ${seen.join(', ')}`);
      const winner = images.find((img) => img.manifest.digest === seen[0])!;
      t.diagnostic(`${tag} -> image ${images.indexOf(winner)} of ${pushers}`);
      for (const img of images) ledger.image(repo, undefined, img);
      ledger.manifest(repo, winner.manifest, tag);
      for (const node of live()) await assertImageOn(node, repo, tag, winner);
    }

    // Every manifest that was acknowledged exists, complete, on every node; one tag entry per tag.
    for (const node of live()) {
      for (const img of images) await assertImageOn(node, repo, undefined, img);
      assert.deepEqual(await tagsOn(node, repo), ['t1', 't2', 't3'], `${node.name}: tags of ${repo}`);
      await assertBlobOn(node, other, shared);
    }
  });

  test('a node SIGKILLed mid-PATCH: the client resumes the upload on the other nodes and the push completes', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const repo = 'cluster/killed';
    const chunk = 512 * KiB;
    const img = makeImage({ seed: 700, layers: [randomBlob(4 * MiB + 333, 701), randomBlob(MiB + MiB / 2 + 9, 702)] });
    const victim = live()[1]!;
    // The client knows every node and learns of the death only by failing against it.
    const client = new RoundRobinClient(() => cluster!.nodes.map((n) => n.url));
    const uploads: UploadResult[] = [];
    uploads.push(await client.pushBlobChunked(repo, img.config, { chunkSize: () => chunk }));

    let fired = false;
    const killed = await client.pushBlobChunked(repo, img.layers[0]!, {
      chunkSize: () => chunk,
      // Once two PATCHes of this layer were acknowledged, the next one bound for the victim is cut after 384 KiB.
      interrupt: ({ index, node }) => {
        if (fired || index < 2 || node !== victim.url) return undefined;
        fired = true;
        return {
          cutAfter: 384 * KiB,
          action: async () => {
            await sleep(300); // let the written bytes reach the node before it dies
            await cluster!.kill(victim);
          },
        };
      },
    });
    uploads.push(killed);
    assert.ok(fired, 'no PATCH of the layer went to the victim node');
    assert.equal(victim.server.proc.signalCode, 'SIGKILL', `${victim.name} was not killed`);

    assert.equal(killed.resumes.length, 1, `resumes: ${JSON.stringify(killed.resumes)}`);
    const r = killed.resumes[0]!;
    t.diagnostic(`killed ${victim.name} mid-PATCH: acknowledged ${r.acknowledged}, sent ${r.sentInFailed} more, status on another node said ${r.resumedAt}`);
    assert.equal(r.failedNode, victim.url);
    assert.notEqual(r.statusNode, victim.url);
    assert.ok(r.acknowledged >= 2 * chunk, `only ${r.acknowledged} bytes were acknowledged before the kill`);
    assert.ok(r.resumedAt >= r.acknowledged, `the upload lost acknowledged bytes: has ${r.resumedAt}, ${r.acknowledged} were acknowledged with 202`);
    assert.ok(r.resumedAt <= r.acknowledged + r.sentInFailed, `the upload reports ${r.resumedAt} bytes, only ${r.acknowledged + r.sentInFailed} were sent`);
    const failedAt = client.log.findIndex((x) => x.error !== undefined);
    assert.ok(failedAt >= 0);
    assert.deepEqual(client.log.slice(failedAt + 1).filter((x) => x.node === victim.url), [], 'requests went to the dead node after it failed');

    uploads.push(await client.pushBlobChunked(repo, img.layers[1]!, { chunkSize: () => chunk }));
    await client.putManifest(repo, 'v1', img.manifest, img.mediaType);
    ledger.uploads(uploads);
    ledger.image(repo, 'v1', img);

    // The completed session is gone on every node.
    for (const node of live()) {
      const st = await httpRequest(`${node.url}/v2/${repo}/blobs/uploads/${killed.uploadId}`, { method: 'GET' });
      assert.equal(st.status, 404, `${node.name}: status of the finished upload ${killed.uploadId}: ${st.status}`);
      assert.equal(errorCode(st.body), 'BLOB_UPLOAD_UNKNOWN');
    }

    // A replacement node joins; the two survivors and it serve the whole image.
    const fresh = await cluster!.add();
    t.diagnostic(`replacement ${fresh.name} joined at ${fresh.url}`);
    assert.equal(live().length, NODES);
    for (const node of live()) await assertImageOn(node, repo, 'v1', img);
    // And everything pushed before the kill too.
    for (let i = 0; i < 4; i++) assert.deepEqual(await tagsOn(fresh, `cluster/rr-${i}`), ['v1']);
  });

  test('nothing lost or duplicated: database rows and stored objects match what was pushed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const c = await db!.connect();
    try {
      const repos = (await c.query<{ name: string }>('SELECT name FROM repositories ORDER BY name')).rows.map((r) => r.name);
      assert.deepEqual(repos, ledger.repositories(), 'repositories');

      const blobRows = (await c.query<{ digest: string; size: string; n: string }>(
        'SELECT digest, min(size) AS size, count(*) AS n FROM blobs GROUP BY digest ORDER BY digest',
      )).rows;
      assert.deepEqual(blobRows.filter((r) => r.n !== '1'), [], 'blobs with more than one row');
      assert.deepEqual(
        blobRows.map((r) => [r.digest, Number(r.size)]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
        [...ledger.blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
        'blobs rows (digest, size) against every pushed blob and manifest',
      );

      const links = (await c.query<{ repo: string; digest: string; n: string }>(
        `SELECT r.name AS repo, rb.digest, count(*) AS n FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
         GROUP BY r.name, rb.digest ORDER BY r.name, rb.digest`,
      )).rows;
      assert.deepEqual(links.filter((r) => r.n !== '1'), [], 'repository_blobs with more than one row');
      assert.deepEqual(
        links.map((r) => `${r.repo} ${r.digest}`).sort(),
        [...ledger.repoBlobs.entries()].flatMap(([repo, ds]) => [...ds].map((d) => `${repo} ${d}`)).sort(),
        'repository_blobs rows against the blobs pushed to each repository',
      );

      const manifests = (await c.query<{ repo: string; digest: string; size: string; n: string }>(
        `SELECT r.name AS repo, m.digest, min(m.size) AS size, count(*) AS n FROM manifests m JOIN repositories r ON r.id = m.repository_id
         GROUP BY r.name, m.digest ORDER BY r.name, m.digest`,
      )).rows;
      assert.deepEqual(manifests.filter((r) => r.n !== '1'), [], 'manifests with more than one row');
      assert.deepEqual(
        manifests.map((r) => `${r.repo} ${r.digest} ${r.size}`).sort(),
        [...ledger.manifests.entries()].flatMap(([repo, ms]) => [...ms].map(([d, s]) => `${repo} ${d} ${s}`)).sort(),
        'manifests rows against the manifests pushed to each repository',
      );

      const tags = (await c.query<{ repo: string; tag: string; digest: string }>(
        `SELECT r.name AS repo, t.name AS tag, t.manifest_digest AS digest FROM tags t JOIN repositories r ON r.id = t.repository_id
         ORDER BY r.name, t.name`,
      )).rows;
      assert.deepEqual(
        tags.map((r) => `${r.repo}:${r.tag} ${r.digest}`).sort(),
        [...ledger.tags.entries()].flatMap(([repo, ts]) => [...ts].map(([tag, d]) => `${repo}:${tag} ${d}`)).sort(),
        'tags rows against the tags pushed (and, for raced tags, the manifest every node serves)',
      );

      const uploads = (await c.query<{ id: string }>('SELECT id FROM uploads')).rows.map((r) => r.id);
      assert.deepEqual(uploads.filter((id) => ledger.uploadIds.has(id)), [], 'rows of completed uploads left in uploads');
      assert.deepEqual(uploads, [], 'upload sessions left over (every push of this suite completed)');
      t.diagnostic(
        `${repos.length} repositories, ${blobRows.length} blobs, ${links.length} links, ${manifests.length} manifests, ${tags.length} tags, ${ledger.uploadIds.size} completed uploads checked`,
      );
    } finally {
      await c.end();
    }

    // The shared storage holds each blob once under its digest, and no staged upload bytes.
    const stored = await storage!.list('blobs/');
    const expected = [...ledger.blobs.entries()].map(([d, s]) => {
      const [alg, hex] = d.split(':') as [string, string];
      return `blobs/${alg}/${hex.slice(0, 2)}/${hex} ${s}`;
    });
    assert.deepEqual([...stored.entries()].map(([k, s]) => `${k} ${s}`).sort(), expected.sort(), `objects under blobs/ in ${storage!.kind} storage`);
    const staged = await storage!.list('uploads/');
    assert.deepEqual([...staged.keys()], [], `staged upload objects left in ${storage!.kind} storage`);
  });
});

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
