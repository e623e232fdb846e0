/**
 * Quotas under pressure, through the running server (issue 7, docs/management-api.md): two pushes
 * racing for the last room of a byte or tag quota cannot both win, and the other ways a blob can
 * enter a project (cross-repository mount, chunked upload) respect a full quota. Profile-agnostic:
 * on PostgreSQL the two pushes are really concurrent transactions.
 *
 * Expected numbers are computed from the Buffers pushed, never read back from berth first.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, pushBlob, putManifest, randomBlob, type Image } from '../helpers/oci.js';
import { getBlob, pushBlobChunked } from '../helpers/e2e-http.js';
import { managementConfig, putQuota, toApiResponse, tryPushImage, usage } from '../helpers/management.js';

let server: TestServer;
let base: string;
let seed = 9500;
const fresh = (opts: Parameters<typeof makeImage>[0] = {}): Image => makeImage({ seed: seed++, ...opts });

before(async () => {
  server = await startServer({ config: managementConfig() });
  base = server.url;
});
after(async () => {
  await server?.stop();
});

describe('pushes racing for the last of a quota', () => {
  // Variants share one layer and config with the base image, so each adds only its manifest
  // bytes; the quota leaves room for one of two, never both. Bounded rounds.
  const layer = randomBlob(2500, 55);
  const baseImage = fresh({ layers: [layer] });
  const variant = (n: number) => fresh({ layers: [layer], annotations: { 'org.example.variant': `v${n}` } });
  before(async () => {
    const { r } = await tryPushImage(base, 'race/app', 'base', baseImage);
    assert.equal(r.status, 201, r.text);
  });

  for (let round = 1; round <= 4; round++) {
    test(`bytes, round ${round}: of two concurrent manifests that each fit, exactly one is accepted`, async () => {
      const used = (await usage(base, 'race')).bytes;
      const [v1, v2] = [variant(round * 10 + 1), variant(round * 10 + 2)];
      const limit = used + v1.manifest.size + v2.manifest.size - 1;
      await putQuota(base, 'race', { bytes: limit, tags: null });
      const results = await Promise.all([
        putManifest(base, 'race/app', `b${round}x`, v1.manifest.bytes).then(toApiResponse),
        putManifest(base, 'race/app', `b${round}y`, v2.manifest.bytes).then(toApiResponse),
      ]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 403], results.map((r) => r.text.slice(0, 200)).join(' | '));
      const loser = results.find((r) => r.status === 403)!;
      assert.equal(loser.error?.code, 'DENIED');
      assert.ok(loser.error!.message.startsWith('quota exceeded: used '), loser.text);
      const after = (await usage(base, 'race')).bytes;
      assert.ok(after <= limit, `usage ${after} over the quota ${limit}`);
      const winner = results[0]!.status === 201 ? v1 : v2;
      assert.equal(after, used + winner.manifest.size);
    });
  }

  for (let round = 1; round <= 4; round++) {
    test(`tags, round ${round}: of two concurrent new tags with room for one, exactly one is created`, async () => {
      const tags = (await usage(base, 'race')).tags;
      await putQuota(base, 'race', { bytes: null, tags: tags + 1 });
      const results = await Promise.all(
        ['x', 'y'].map((s) => putManifest(base, 'race/app', `t${round}${s}`, baseImage.manifest.bytes).then(toApiResponse)),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 403], results.map((r) => r.text.slice(0, 200)).join(' | '));
      assert.equal((await usage(base, 'race')).tags, tags + 1);
    });
  }
});

describe('other ways in respect a full quota', () => {
  const outside = randomBlob(4000, 66);
  let full = 0;
  before(async () => {
    const { r } = await tryPushImage(base, 'p6/app', 'v1', fresh());
    assert.equal(r.status, 201, r.text);
    const src = await pushBlob(base, 'src/app', outside);
    await src.arrayBuffer();
    assert.equal(src.status, 201);
    full = (await usage(base, 'p6')).bytes;
    await putQuota(base, 'p6', { bytes: full });
  });

  test('a cross-repository mount from another project does not link the blob', async () => {
    const r = await fetch(`${base}/v2/p6/app/blobs/uploads/?mount=${outside.digest}&from=src/app`, { method: 'POST' });
    const body = await r.text();
    // Either refused (403 DENIED) or declined with an upload session (202, spec "Mounting a blob");
    // never a 201 mount.
    assert.ok(r.status === 403 || r.status === 202, `mount answered ${r.status}: ${body}`);
    if (r.status === 403) assert.equal(JSON.parse(body).errors?.[0]?.code, 'DENIED');
    assert.equal((await getBlob(base, 'p6/app', outside.digest)).status, 404);
    assert.equal((await usage(base, 'p6')).bytes, full);
  });

  test('a chunked upload is refused at completion and not stored', async () => {
    const big = randomBlob(3000, 67);
    const status = await pushBlobChunked(base, 'p6/app', big, 1000);
    assert.equal(status, 403);
    assert.equal((await getBlob(base, 'p6/app', big.digest)).status, 404);
    assert.equal((await usage(base, 'p6')).bytes, full);
  });
});
