import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { blob, randomBlob, sha256, type Blob } from '../helpers/oci.js';
import { errorCode } from '../helpers/e2e-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Cluster, chooseClusterStorage, createTestDatabase, type ClusterStorage, type TestDatabase } from '../helpers/cluster.js';

/**
 * Online garbage collection under load: pushers keep pushing images that share
 * layers with images a deleter keeps deleting, and mount shared layers across
 * repositories, while GC runs in a loop; all for a bounded time. Afterwards
 * every image that was pushed and not deleted is complete (manifest and every
 * blob served, digests checked here with node:crypto), and once the grace
 * period has passed and GC ran once more, storage holds exactly the blobs the
 * remaining images reference (listed straight from storage, not through berth).
 */

const GRACE_SECONDS = 2;
const LOAD_MS = 12_000;
const PUSHERS = 3;
const MAX_ATTEMPTS = 5;
const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Pushed {
  repo: string;
  tag: string;
  manifest: Blob;
  blobs: Blob[];
  deleted: boolean;
}

/** Picks the node for each request: one server, or round-robin over a cluster's nodes. */
type NodePicker = () => string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pushBlobTo(base: string, repo: string, b: Blob, mountFrom?: string): Promise<void> {
  if (mountFrom) {
    const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=${mountFrom}`, { method: 'POST' });
    await r.arrayBuffer();
    if (r.status === 201) return;
    if (r.status !== 202) throw new Error(`mount ${b.digest}: ${r.status}`);
  }
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(b.bytes),
  });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`blob push ${b.digest}: ${r.status} ${text}`);
}

function imageManifest(config: Blob, layers: Blob[]): Blob {
  return blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    }),
  );
}

interface LoadResult {
  pushed: Pushed[];
  gcRuns: number;
  reclaimed: number;
  retries: number;
}

async function runLoad(pick: NodePicker): Promise<LoadResult> {
  const base = Array.from({ length: 5 }, (_, i) => randomBlob(8192 + i * 4096, 1000 + i));
  const pushed: Pushed[] = [];
  const deadline = Date.now() + LOAD_MS;
  let retries = 0;
  let gcRuns = 0;
  let reclaimed = 0;

  const pusher = async (w: number) => {
    const repo = `gc/app${w}`;
    for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
      const layers = [base[i % 5]!, base[(i + 2 + w) % 5]!, randomBlob(2048 + (i % 7) * 512, w * 100_000 + i + 1)];
      const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', pusher: w, i, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
      const manifest = imageManifest(config, layers);
      const tag = `t${i}`;
      let done = false;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS && !done; attempt++) {
        for (const [k, b] of [config, ...layers].entries()) {
          // Shared layers are mounted from a neighbour's repository when it has them.
          await pushBlobTo(pick(), repo, b, k === 1 || k === 2 ? `gc/app${(w + 1) % PUSHERS}` : undefined);
        }
        const r = await fetch(`${pick()}/v2/${repo}/manifests/${tag}`, {
          method: 'PUT',
          headers: { 'Content-Type': MT_MANIFEST },
          body: new Uint8Array(manifest.bytes),
        });
        const body = await r.text();
        if (r.status === 201) done = true;
        else if (errorCode(body) === 'MANIFEST_BLOB_UNKNOWN') retries++; // a layer link outlived the grace period: push again
        else throw new Error(`manifest push ${repo}:${tag}: ${r.status} ${body}`);
      }
      assert.ok(done, `${repo}:${tag} could not be pushed in ${MAX_ATTEMPTS} attempts`);
      pushed.push({ repo, tag, manifest, blobs: [config, ...layers], deleted: false });
    }
  };

  const deleter = async () => {
    for (let n = 0; Date.now() < deadline && n < 10_000; n++) {
      await sleep(120);
      const live = pushed.filter((p) => !p.deleted);
      if (live.length < 4) continue;
      const victim = live[(n * 7919) % live.length]!;
      victim.deleted = true;
      const r = await fetch(`${pick()}/v2/${victim.repo}/manifests/${victim.manifest.digest}`, { method: 'DELETE' });
      await r.arrayBuffer();
      assert.equal(r.status, 202, `delete ${victim.repo}@${victim.manifest.digest}`);
    }
  };

  const collector = async () => {
    for (let n = 0; Date.now() < deadline && n < 10_000; n++) {
      const r = await fetch(`${pick()}/api/v1/gc`, { method: 'POST' });
      const report = (await r.json()) as { blobsDeleted: number };
      assert.equal(r.status, 200, JSON.stringify(report));
      gcRuns++;
      reclaimed += report.blobsDeleted;
      await sleep(100);
    }
  };

  await Promise.all([...Array.from({ length: PUSHERS }, (_, w) => pusher(w)), deleter(), collector()]);
  return { pushed, gcRuns, reclaimed, retries };
}

/** Every image pushed and not deleted is served whole, with the right digests. */
async function assertComplete(pick: NodePicker, pushed: Pushed[]): Promise<void> {
  for (const p of pushed.filter((x) => !x.deleted)) {
    const m = await fetch(`${pick()}/v2/${p.repo}/manifests/${p.tag}`, { headers: { Accept: MT_MANIFEST } });
    const bytes = Buffer.from(await m.arrayBuffer());
    assert.equal(m.status, 200, `${p.repo}:${p.tag}`);
    assert.equal(sha256(bytes), p.manifest.digest, `${p.repo}:${p.tag} digest`);
    for (const b of p.blobs) {
      const r = await fetch(`${pick()}/v2/${p.repo}/blobs/${b.digest}`);
      const got = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200, `${p.repo} blob ${b.digest}`);
      assert.equal(sha256(got), b.digest);
    }
  }
}

/** After the grace period and one more GC, storage holds exactly what the remaining images reference. */
async function assertNoGarbage(pick: NodePicker, pushed: Pushed[], storedDigests: () => Promise<Set<string>>): Promise<void> {
  await sleep(GRACE_SECONDS * 1000 + 500);
  const r = await fetch(`${pick()}/api/v1/gc`, { method: 'POST' });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  const expected = new Set<string>();
  for (const p of pushed.filter((x) => !x.deleted)) for (const b of [p.manifest, ...p.blobs]) expected.add(b.digest);
  const stored = await storedDigests();
  const missing = [...expected].filter((d) => !stored.has(d));
  const extra = [...stored].filter((d) => !expected.has(d));
  assert.deepEqual(missing, [], 'referenced blobs missing from storage');
  assert.deepEqual(extra, [], 'unreferenced blobs older than the grace period left in storage');
}

/** `blobs/sha256/ab/abcd...` keys -> digests. */
function digestsOf(keys: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    const m = /blobs\/(sha256)\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(k);
    if (m) out.add(`${m[1]}:${m[2]}`);
  }
  return out;
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number) => {
    if (depth > 6) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name), depth + 1);
      else out.push(join(d, e.name));
    }
  };
  await walk(dir, 0);
  return out;
}

const GC_CONFIG = `version: 1\ngc:\n  graceSeconds: ${GRACE_SECONDS}\n  schedule: ""\nlifecycle:\n  schedule: ""\n`;

describe('online garbage collection under concurrent pushes and deletes', () => {
  test('one node on the embedded default (filesystem + SQLite)', { timeout: 120_000 }, async () => {
    let server: TestServer | undefined;
    try {
      server = await startServer({
        config: GC_CONFIG,
        // The embedded default whatever BERTH_TEST_PROFILE says: the cluster case below covers PostgreSQL.
        env: { BERTH_METADATA_DRIVER: 'sqlite', BERTH_STORAGE_DRIVER: 'filesystem' },
      });
      const s = server;
      const pick = () => s.url;
      const load = await runLoad(pick);
      assert.ok(load.gcRuns >= 5, `GC ran ${load.gcRuns} times`);
      assert.ok(load.reclaimed > 0, 'GC reclaimed blobs of deleted images while pushes went on');
      assert.ok(load.pushed.some((p) => p.deleted) && load.pushed.some((p) => !p.deleted));
      await assertComplete(pick, load.pushed);
      await assertNoGarbage(pick, load.pushed, async () => digestsOf(await walkFiles(join(s.dataDir, 'blobs', 'blobs'))));
    } finally {
      await server?.stop();
    }
  });

  let db: TestDatabase | undefined;
  let storage: ClusterStorage | undefined;
  const cluster: { c?: Cluster } = {};
  after(async () => {
    await cluster.c?.stop();
    await storage?.cleanup();
    await db?.drop();
  });

  test('three nodes on one PostgreSQL database and one blob storage', { timeout: 180_000 }, async (t) => {
    db = await createTestDatabase('berth_gc');
    storage = await chooseClusterStorage();
    t.diagnostic(`blob storage: ${storage.reason}`);
    const env = {
      ...storage.env,
      BERTH_METADATA_DRIVER: 'postgres',
      BERTH_METADATA_POSTGRES_URL: db.url,
      BERTH_GC_GRACESECONDS: String(GRACE_SECONDS),
      BERTH_GC_SCHEDULE: '',
      BERTH_LIFECYCLE_SCHEDULE: '',
    };
    cluster.c = new Cluster(env);
    const nodes = await cluster.c.start(3);
    let next = 0;
    // Every request goes to the next node: a push's blobs and manifest land on different nodes, and so do GC runs.
    const pick = () => nodes[next++ % nodes.length]!.url;
    const load = await runLoad(pick);
    t.diagnostic(`pushed ${load.pushed.length}, deleted ${load.pushed.filter((p) => p.deleted).length}, GC runs ${load.gcRuns}, reclaimed ${load.reclaimed}, re-pushes ${load.retries}`);
    assert.ok(load.gcRuns >= 5, `GC ran ${load.gcRuns} times`);
    assert.ok(load.reclaimed > 0, 'GC reclaimed blobs of deleted images while pushes went on');
    await assertComplete(pick, load.pushed);
    const s = storage;
    await assertNoGarbage(pick, load.pushed, async () => digestsOf((await s.list('blobs/')).keys()));
  });
});
