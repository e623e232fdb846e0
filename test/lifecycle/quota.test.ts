/**
 * Project quotas and usage through the running server (issue 7, docs/management-api.md): usage
 * counts each unique blob (layers, configs, manifests) once per project; a push over the byte or
 * tag quota is refused with DENIED "quota exceeded: used X of Y" and leaves nothing behind;
 * deleting an image frees its unshared bytes at once; other projects are unaffected. Races and
 * other ways into a project are in quota-races.test.ts.
 *
 * Every expected number is computed here from the Buffers the test pushes (sizes summed per
 * unique digest), never read back from berth first.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, pushBlob, randomBlob, type Image } from '../helpers/oci.js';
import { getBlob, getManifest } from '../helpers/e2e-http.js';
import {
  api,
  assertQuotaDenied,
  assertServing,
  blobsOf,
  deleteManifest,
  expectError,
  imageBytes,
  managementConfig,
  putQuota,
  q,
  quotaPath,
  resolve,
  tagsList,
  toApiResponse,
  tryPushImage,
  uniqueBytes,
  usage,
} from '../helpers/management.js';


let seed = 9000;
const fresh = (opts: Parameters<typeof makeImage>[0] = {}): Image => makeImage({ seed: seed++, ...opts });

describe('quotas and usage (default GC grace)', () => {
  let server: TestServer;
  let base: string;
  before(async () => {
    server = await startServer({ config: managementConfig() });
    base = server.url;
  });
  after(async () => {
    await server?.stop();
  });

  test('quota documents: put, get, delete; hostile values are POLICY_INVALID and change nothing', async () => {
    expectError(await api(base, 'GET', quotaPath('docs')), 404, 'NOT_FOUND', 'GET before PUT');
    const put = await putQuota(base, 'docs', { bytes: 1000 });
    // docs/management-api.md lists project, bytes and tags (the server also sends updatedAt).
    assert.deepEqual({ project: put.project, bytes: put.bytes, tags: put.tags }, { project: 'docs', bytes: 1000, tags: null });
    const got = await api<Record<string, unknown>>(base, 'GET', quotaPath('docs'));
    assert.equal(got.status, 200);
    assert.equal(got.json!.bytes, 1000);
    assert.equal(got.json!.tags, null);
    const hostile: Array<[string, string]> = [
      ['negative bytes', '{"bytes": -1}'],
      ['bytes as a string', '{"bytes": "1000"}'],
      ['fractional bytes', '{"bytes": 1.5}'],
      ['bytes of 2^53 (not a safe integer)', '{"bytes": 9007199254740992}'],
      ['bytes 1e400 (Infinity once parsed)', '{"bytes": 1e400}'],
      ['bytes as an object', '{"bytes": {"max": 1}}'],
      ['negative tags', '{"tags": -3}'],
      ['tags as a string', '{"tags": "2"}'],
      ['tags true', '{"tags": true}'],
      ['neither bytes nor tags', '{}'],
      ['both null', '{"bytes": null, "tags": null}'],
      ['unknown field', '{"bytes": 5, "files": 3}'],
      ['an array', '[1000]'],
      ['a bare number', '1000'],
      ['a string', '"1000"'],
      ['null', 'null'],
      ['not JSON', '{"bytes": '],
      ['empty body', ''],
    ];
    for (const [what, body] of hostile) {
      const r = await api(base, 'PUT', quotaPath('docs'), body);
      expectError(r, 400, 'POLICY_INVALID', what);
      const still = await api<Record<string, unknown>>(base, 'GET', quotaPath('docs'));
      assert.deepEqual(still.json, got.json, `${what}: stored quota changed`);
    }
    for (const project of ['Docs', 'docs/*', 'docs/app', '../docs', 'a//b', '-docs']) {
      expectError(await api(base, 'PUT', quotaPath(project), { bytes: 1 }), 400, 'NAME_INVALID', `project ${project}`);
    }
    assert.equal((await api(base, 'DELETE', quotaPath('docs'))).status, 204);
    expectError(await api(base, 'GET', quotaPath('docs')), 404, 'NOT_FOUND', 'GET after DELETE');
    expectError(await api(base, 'DELETE', quotaPath('docs')), 404, 'NOT_FOUND', 'second DELETE');
    await assertServing(base);
  });

  test('invalid project names are NAME_INVALID for quota reads and usage', async () => {
    for (const project of ['Docs', '../docs', 'a/b', '*']) {
      expectError(await api(base, 'GET', quotaPath(project)), 400, 'NAME_INVALID', `GET quota of ${project}`);
      expectError(await api(base, 'DELETE', quotaPath(project)), 400, 'NAME_INVALID', `DELETE quota of ${project}`);
    }
    // docs/management-api.md: NAME_INVALID answers a bad project, so usage of one is refused
    // rather than answered with an empty list (which reads as "that project uses nothing").
    for (const project of ['Docs', '../docs', 'a/b', '*']) {
      expectError(await api(base, 'GET', `/api/v1/usage${q('project', project)}`), 400, 'NAME_INVALID', `usage of ${project}`);
    }
  });

  describe('byte quota on project p1', () => {
    // X in p1/a and Y in p1/b share one layer; each has its own config (Y's says arm64) and manifest.
    const shared = randomBlob(3000, 77);
    const x = fresh({ layers: [shared] });
    const y = fresh({ layers: [shared], platform: { os: 'linux', architecture: 'arm64' } });
    // Z has X's layer and config (same layers and platform give the same config) and only its own
    // manifest bytes (an annotation makes them differ): the one thing it adds to the project.
    const z = fresh({ layers: [shared], annotations: { 'org.example.variant': 'z' } });
    const sumXY = uniqueBytes([...blobsOf(x), ...blobsOf(y)]);

    before(async () => {
      assert.equal(x.config.digest, z.config.digest, 'fixture: Z reuses X config');
      assert.notEqual(x.config.digest, y.config.digest, 'fixture: Y has its own config');
      for (const [repo, tag, img] of [['p1/a', 'x', x], ['p1/b', 'y', y]] as const) {
        const { r, step } = await tryPushImage(base, repo, tag, img);
        assert.equal(r.status, 201, `${repo}:${tag} ${step}: ${r.text}`);
      }
    });

    test('usage counts a blob shared by two repositories once for the project', async () => {
      const u = await usage(base, 'p1');
      assert.equal(u.bytes, sumXY);
      assert.equal(sumXY, shared.size + x.config.size + x.manifest.size + y.config.size + y.manifest.size);
      assert.equal(u.blobs, 5);
      assert.equal(u.tags, 2);
      assert.equal(u.manifests, 2);
      assert.equal(u.quota, null);
      const repos = new Map(u.repositories.map((r) => [r.repository, r]));
      assert.deepEqual([...repos.keys()].sort(), ['p1/a', 'p1/b']);
      assert.equal(repos.get('p1/a')!.bytes, imageBytes(x));
      assert.equal(repos.get('p1/b')!.bytes, imageBytes(y));
      assert.equal(repos.get('p1/a')!.blobs, 3);
    });

    test('a push that would exceed the byte quota is DENIED and leaves nothing behind', async () => {
      const limit = sumXY + z.manifest.size - 1;
      await putQuota(base, 'p1', { bytes: limit });
      assert.deepEqual((await usage(base, 'p1')).quota, { bytes: limit, tags: null });
      const { r, step } = await tryPushImage(base, 'p1/a', 'z', z);
      assert.equal(step, 'manifest', `the blobs are already in the project and cost nothing: ${r.text}`);
      assertQuotaDenied(r, 'push of z', sumXY, limit);
      // Stored state unchanged: no manifest, same tags, same usage.
      assert.equal((await getManifest(base, 'p1/a', z.manifest.digest)).status, 404);
      assert.equal((await getManifest(base, 'p1/a', 'z')).status, 404);
      assert.deepEqual(await tagsList(base, 'p1/a'), ['x']);
      const u = await usage(base, 'p1');
      assert.equal(u.bytes, sumXY);
      assert.equal(u.manifests, 2);
      assert.equal(u.tags, 2);
    });

    test('a push that fills the quota exactly is accepted', async () => {
      const limit = sumXY + z.manifest.size;
      await putQuota(base, 'p1', { bytes: limit });
      const { r, step } = await tryPushImage(base, 'p1/a', 'z', z);
      assert.equal(r.status, 201, `${step}: ${r.text}`);
      assert.equal((await usage(base, 'p1')).bytes, limit);
      assert.deepEqual(await tagsList(base, 'p1/a'), ['x', 'z']);
    });

    test('with the quota full, a new blob is DENIED and not stored', async () => {
      const full = sumXY + z.manifest.size;
      const extra = randomBlob(2000, 78);
      const r = await toApiResponse(await pushBlob(base, 'p1/a', extra));
      assertQuotaDenied(r, 'blob push', full, full);
      assert.equal((await getBlob(base, 'p1/a', extra.digest)).status, 404);
      assert.equal((await usage(base, 'p1')).bytes, full);
      // Re-pushing a blob the project already has costs nothing and is accepted.
      const again = await pushBlob(base, 'p1/b', shared);
      await again.arrayBuffer();
      assert.equal(again.status, 201);
      assert.equal((await usage(base, 'p1')).bytes, full);
    });

    test('the one-component repository "p1" belongs to project p1 and is limited by its quota', async () => {
      const img = fresh();
      const { r } = await tryPushImage(base, 'p1', 'v1', img);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.error?.code, 'DENIED');
    });

    test('other projects are unaffected, including one whose name starts with p1', async () => {
      const p1Before = (await usage(base, 'p1')).bytes;
      for (const repo of ['p3/app', 'p1x/app', 'p1-other/app']) {
        const img = fresh({ layers: [randomBlob(5000, seed++)] });
        const { r, step } = await tryPushImage(base, repo, 'v1', img);
        assert.equal(r.status, 201, `${repo} (${step}): ${r.text}`);
        const project = repo.split('/')[0]!;
        const u = await usage(base, project);
        assert.equal(u.bytes, imageBytes(img), `usage of ${project}`);
        assert.equal(u.quota, null);
      }
      assert.equal((await usage(base, 'p1')).bytes, p1Before, 'p1 usage moved');
    });

    test('deleting the quota lifts the limit', async () => {
      assert.equal((await api(base, 'DELETE', quotaPath('p1'))).status, 204);
      const img = fresh();
      const { r } = await tryPushImage(base, 'p1/a', 'free', img);
      assert.equal(r.status, 201, r.text);
    });
  });

  test('LIKE wildcards in a project name do not widen a quota: q_1 limits q_1, not qa1', async () => {
    await putQuota(base, 'q_1', { bytes: 0 });
    const img = fresh();
    const denied = await tryPushImage(base, 'q_1/app', 'v1', img);
    assert.equal(denied.r.status, 403, denied.r.text);
    assert.ok(denied.r.error?.message.startsWith('quota exceeded: used 0'), denied.r.text);
    const ok = await tryPushImage(base, 'qa1/app', 'v1', img);
    assert.equal(ok.r.status, 201, ok.r.text);
    assert.equal((await usage(base, 'q_1')).bytes, 0);
    assert.equal((await usage(base, 'qa1')).bytes, imageBytes(img));
  });

  describe('tag quota on project p2', () => {
    const a = fresh();
    const b = fresh();
    before(async () => {
      await putQuota(base, 'p2', { tags: 2 });
      for (const [repo, tag] of [['p2/a', 't1'], ['p2/b', 't2']] as const) {
        const { r, step } = await tryPushImage(base, repo, tag, a);
        assert.equal(r.status, 201, `${repo}:${tag} ${step}: ${r.text}`);
      }
    });

    test('a third new tag in the project is DENIED and not created', async () => {
      const { r } = await tryPushImage(base, 'p2/a', 't3', a);
      assertQuotaDenied(r, 'third tag', 2, 2);
      assert.ok(r.error!.message.includes('tags'), r.error!.message);
      assert.deepEqual(await tagsList(base, 'p2/a'), ['t1']);
      assert.equal((await usage(base, 'p2')).tags, 2);
    });

    test('re-pushing an existing tag is allowed, with the same or another manifest', async () => {
      assert.equal((await tryPushImage(base, 'p2/a', 't1', a)).r.status, 201);
      const moved = await tryPushImage(base, 'p2/a', 't1', b);
      assert.equal(moved.r.status, 201, moved.r.text);
      assert.equal(await resolve(base, 'p2/a', 't1'), b.manifest.digest);
      assert.equal((await usage(base, 'p2')).tags, 2);
    });

    test('an untagged push (by digest) needs no tag and is allowed', async () => {
      const c = fresh();
      const r = await tryPushImage(base, 'p2/a', c.manifest.digest, c);
      assert.equal(r.r.status, 201, r.r.text);
    });

    test('deleting a tag makes room for a new one', async () => {
      const del = await deleteManifest(base, 'p2/b', 't2');
      assert.equal(del.status, 202, del.text);
      assert.equal((await tryPushImage(base, 'p2/a', 't3', a)).r.status, 201);
      assert.deepEqual(await tagsList(base, 'p2/a'), ['t1', 't3']);
    });
  });
});

describe('deleting an image frees quota at once (gc.graceSeconds: 0)', () => {
  // Usage leaves out blob links older than the GC grace that no manifest references (garbage
  // awaiting collection), but counts recent ones: a push in progress has linked its layers before
  // its manifest references them. With the default grace (a day) the layers of a just-deleted,
  // just-pushed image would therefore still count; a grace of 0 makes them garbage at once, which
  // is what "deleting an image frees quota at once" can be measured against in a short test.
  let server: TestServer;
  let base: string;
  before(async () => {
    server = await startServer({ config: managementConfig({ graceSeconds: 0 }) });
    base = server.url;
  });
  after(async () => {
    await server?.stop();
  });

  test('DELETE by digest lowers usage by the unshared blobs and lets a refused push through', async () => {
    const common = randomBlob(4000, 91);
    const own = randomBlob(6000, 92);
    const x = fresh({ layers: [common] });
    const y = fresh({ layers: [common, own] });
    for (const [tag, img] of [['x', x], ['y', y]] as const) {
      const { r, step } = await tryPushImage(base, 'd/app', tag, img);
      assert.equal(r.status, 201, `${tag} ${step}: ${r.text}`);
    }
    const sum = uniqueBytes([...blobsOf(x), ...blobsOf(y)]);
    assert.equal((await usage(base, 'd')).bytes, sum);
    await putQuota(base, 'd', { bytes: sum });

    // W needs less than Y frees, more than is left now.
    const w = fresh({ layers: [randomBlob(3000, 93)] });
    const refused = await tryPushImage(base, 'd/app', 'w', w);
    assertQuotaDenied(refused.r, `push of w (${refused.step})`, sum, sum);
    assert.equal((await usage(base, 'd')).bytes, sum);

    const del = await deleteManifest(base, 'd/app', y.manifest.digest);
    assert.equal(del.status, 202, del.text);
    // Y's own layer, config and manifest go; the layer X shares stays.
    const freed = own.size + y.config.size + y.manifest.size;
    assert.equal((await usage(base, 'd')).bytes, sum - freed);
    assert.ok(imageBytes(w) <= freed, 'fixture: W fits in what Y freed');

    const accepted = await tryPushImage(base, 'd/app', 'w', w);
    assert.equal(accepted.r.status, 201, `${accepted.step}: ${accepted.r.text}`);
    assert.equal((await usage(base, 'd')).bytes, sum - freed + imageBytes(w));
    assert.deepEqual(await tagsList(base, 'd/app'), ['w', 'x']);
  });
});
