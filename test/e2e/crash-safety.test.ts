import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { blob, makeImage, pushBlob, pushImage, putManifest, randomBlob, sha256, type Image } from '../helpers/oci.js';
import { sleep } from '../helpers/e2e-process.js';
import { blobProblem, errorCode, getBlob, getManifest, pushBlobChunked, rangeEnd, streamRequest } from '../helpers/e2e-http.js';

/**
 * Crash safety: SIGKILL the real server process while bodies are still
 * arriving, restart it on the same data directory and check that nothing
 * partial became visible, that acknowledged work survived, and that uploads
 * resume from a consistent offset (distribution-spec "Pushing a blob in
 * chunks": the client resumes from the Range the upload status reports).
 */

const MiB = 1024 * 1024;
const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const servers: TestServer[] = [];
const dirs: string[] = [];

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-crash-'));
  dirs.push(d);
  return d;
}

async function start(dir: string): Promise<TestServer> {
  const s = await startServer({ dataDir: dir });
  servers.push(s);
  return s;
}

after(async () => {
  for (const s of servers) await s.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Kills after a short pause so the bytes already written have reached the server. */
function killAfterPause(s: TestServer, pauseMs = 300): () => Promise<void> {
  return async () => {
    await sleep(pauseMs);
    await s.kill();
  };
}

describe('crash safety (SIGKILL and restart on the same data dir)', () => {
  test('a chunked upload killed mid-PATCH resumes from a consistent offset and completes', { timeout: 120_000 }, async (t) => {
    const dir = await dataDir();
    const b = randomBlob(8 * MiB + 123, 7);
    const repo = 'crash/chunked';
    const s1 = await start(dir);

    const post = await fetch(`${s1.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(post.status, 202, await post.text());
    const location = post.headers.get('location');
    assert.ok(location, 'POST must answer a Location');
    const uuid = post.headers.get('docker-upload-uuid');
    const path = new URL(location, s1.url).pathname + new URL(location, s1.url).search;

    // Two acknowledged chunks of 1 MiB each.
    let acked = 0;
    for (let i = 0; i < 2; i++) {
      const chunk = b.bytes.subarray(acked, acked + MiB);
      const r = await fetch(new URL(path, s1.url), {
        method: 'PATCH',
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(chunk.length),
          'Content-Range': `${acked}-${acked + chunk.length - 1}`,
        },
        body: new Uint8Array(chunk),
      });
      assert.equal(r.status, 202, await r.text());
      assert.equal(r.headers.get('range'), `0-${acked + chunk.length - 1}`);
      acked += chunk.length;
    }

    // The third chunk is the rest of the blob, but only part of it is sent before the kill.
    const rest = b.bytes.subarray(acked);
    const cut = await streamRequest(new URL(path, s1.url).toString(), {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(rest.length),
        'Content-Range': `${acked}-${b.size - 1}`,
      },
      body: rest,
      pieceSize: 64 * 1024,
      delayMs: 2,
      stopAfter: 3 * MiB + 4321,
      onStop: killAfterPause(s1),
    });
    assert.equal(cut.status, undefined, `the server answered a PATCH whose body was incomplete: ${cut.status} ${cut.body}`);
    const sentTotal = acked + cut.sent;

    const s2 = await start(dir);
    const status = await fetch(new URL(path, s2.url));
    assert.equal(status.status, 204, `upload status after restart: ${await status.text()}`);
    if (uuid !== null) assert.equal(status.headers.get('docker-upload-uuid'), uuid);
    const end = rangeEnd(status.headers.get('range'));
    assert.ok(end !== undefined, `Range header: ${status.headers.get('range')}`);
    const staged = end + 1;
    t.diagnostic(`acknowledged ${acked}, sent ${sentTotal}, staged after restart ${staged}`);
    assert.ok(staged >= acked, `upload lost acknowledged bytes: has ${staged}, ${acked} were acknowledged with 202`);
    assert.ok(staged <= sentTotal, `upload reports ${staged} bytes but only ${sentTotal} were ever sent`);

    // Resume from the reported offset with the client's own bytes.
    const remainder = b.bytes.subarray(staged);
    const resume = await fetch(new URL(path, s2.url), {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(remainder.length),
        'Content-Range': `${staged}-${b.size - 1}`,
      },
      body: new Uint8Array(remainder),
    });
    assert.equal(resume.status, 202, await resume.text());
    assert.equal(resume.headers.get('range'), `0-${b.size - 1}`);
    const loc2 = new URL(resume.headers.get('location') ?? path, s2.url);
    loc2.searchParams.set('digest', b.digest);
    const put = await fetch(loc2, { method: 'PUT', headers: { 'Content-Length': '0' } });
    assert.equal(put.status, 201, `completing the resumed upload (a staged prefix that is not the sent bytes fails here): ${await put.text()}`);
    assert.equal(put.headers.get('docker-content-digest'), b.digest);

    const got = await getBlob(s2.url, repo, b.digest);
    assert.equal(got.status, 200);
    assert.equal(got.bytes.length, b.size);
    assert.equal(sha256(got.bytes), b.digest);
    await s2.stop();
  });

  test('a monolithic blob push killed mid-body leaves nothing visible', { timeout: 180_000 }, async () => {
    const dir = await dataDir();
    const b = randomBlob(64 * MiB, 9);
    const repo = 'crash/mono';
    const s1 = await start(dir);
    const cut = await streamRequest(`${s1.url}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(b.size) },
      body: b.bytes,
      pieceSize: 256 * 1024,
      delayMs: 5,
      stopAfter: 16 * MiB,
      onStop: killAfterPause(s1),
    });
    assert.equal(cut.status, undefined, `the server answered a POST whose body was incomplete: ${cut.status} ${cut.body}`);

    const s2 = await start(dir);
    const head = await fetch(`${s2.url}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 404, 'a partially received blob must not exist after restart');
    const get = await getBlob(s2.url, repo, b.digest);
    assert.equal(get.status, 404);
    assert.equal(errorCode(get.bytes), 'BLOB_UNKNOWN');

    // The same blob pushed whole now works.
    const ok = await pushBlob(s2.url, repo, b);
    assert.equal(ok.status, 201, await ok.text());
    const problem = await blobProblem(s2.url, repo, b.digest, b.size);
    assert.equal(problem, undefined, problem);
    await s2.stop();
  });

  test('a manifest PUT killed mid-body changes no tag and creates no manifest', { timeout: 120_000 }, async () => {
    const dir = await dataDir();
    const repo = 'crash/manifest';
    const a = makeImage({ seed: 31 });
    const b = makeImage({ seed: 32, annotations: { pad: 'x'.repeat(4096) } });
    const s1 = await start(dir);
    await pushImage(s1.url, repo, 'stable', a);
    for (const x of [b.config, ...b.layers]) {
      const r = await pushBlob(s1.url, repo, x);
      assert.equal(r.status, 201, await r.text());
    }

    // Two partial PUTs of manifest B: over the existing tag and to a new tag. Kill once both are half sent.
    let reached = 0;
    let killing: Promise<void> | undefined;
    const onStop = async (): Promise<void> => {
      reached++;
      for (let i = 0; i < 100 && reached < 2; i++) await sleep(20);
      killing ??= killAfterPause(s1)();
      await killing;
    };
    const partial = (tag: string) =>
      streamRequest(`${s1.url}/v2/${repo}/manifests/${tag}`, {
        method: 'PUT',
        headers: { 'Content-Type': MT_MANIFEST, 'Content-Length': String(b.manifest.size) },
        body: b.manifest.bytes,
        pieceSize: 512,
        delayMs: 5,
        stopAfter: Math.floor(b.manifest.size / 2),
        onStop,
      });
    const cuts = await Promise.all([partial('stable'), partial('fresh')]);
    for (const c of cuts) assert.equal(c.status, undefined, `the server answered an incomplete manifest PUT: ${c.status} ${c.body}`);

    const s2 = await start(dir);
    const stable = await getManifest(s2.url, repo, 'stable');
    assert.equal(stable.status, 200, stable.bytes.toString());
    assert.equal(stable.digestHeader, a.manifest.digest, 'the old tag value must be unchanged');
    assert.ok(stable.bytes.equals(a.manifest.bytes));
    const fresh = await getManifest(s2.url, repo, 'fresh');
    assert.equal(fresh.status, 404);
    assert.equal(errorCode(fresh.bytes), 'MANIFEST_UNKNOWN');
    const byDigest = await getManifest(s2.url, repo, b.manifest.digest);
    assert.equal(byDigest.status, 404);
    assert.equal(errorCode(byDigest.bytes), 'MANIFEST_UNKNOWN');
    const tags = await fetch(`${s2.url}/v2/${repo}/tags/list`);
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['stable']);

    // Completing the same PUT now works and moves the tag.
    const put = await putManifest(s2.url, repo, 'stable', b.manifest.bytes);
    assert.equal(put.status, 201, await put.text());
    const moved = await getManifest(s2.url, repo, 'stable');
    assert.equal(moved.digestHeader, b.manifest.digest);
    await s2.stop();
  });

  test('after repeated kills the server starts cleanly, keeps its data and accepts pushes', { timeout: 120_000 }, async () => {
    const dir = await dataDir();
    const repo = 'crash/restart';
    const first = makeImage({ seed: 41 });
    const s0 = await start(dir);
    await pushImage(s0.url, repo, 'first', first);
    await s0.kill();
    // Kill right after start a few times (bounded): startup itself must be crash safe.
    for (let i = 0; i < 3; i++) {
      const s = await start(dir);
      await s.kill();
    }
    const s = await start(dir);
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const m = await getManifest(s.url, repo, 'first');
    assert.equal(m.status, 200);
    assert.equal(m.digestHeader, first.manifest.digest);
    for (const x of [first.config, ...first.layers]) {
      const problem = await blobProblem(s.url, repo, x.digest, x.size);
      assert.equal(problem, undefined, problem);
    }
    const next = makeImage({ seed: 42, layers: [randomBlob(3 * MiB, 42)] });
    assert.equal(await pushBlobChunked(s.url, repo, next.layers[0]!, MiB), 201);
    const cfg = await pushBlob(s.url, repo, next.config);
    assert.equal(cfg.status, 201);
    const put = await putManifest(s.url, repo, 'next', next.manifest.bytes);
    assert.equal(put.status, 201, await put.text());
    const got = await getManifest(s.url, repo, 'next');
    assert.equal(got.digestHeader, next.manifest.digest);
    const problem = await blobProblem(s.url, repo, next.layers[0]!.digest, next.layers[0]!.size);
    assert.equal(problem, undefined, problem);
    const code = await s.stop({ keepData: true });
    assert.equal(code, 0, `server did not exit cleanly on SIGTERM:\n${s.output().slice(-2000)}`);
  });

  test('kill -9 during concurrent pushes never leaves a dangling or partial tag', { timeout: 300_000 }, async (t) => {
    const dir = await dataDir();
    const ITERATIONS = 5;
    const WORKERS = 4;
    // Far more than fit before the kill, so every worker is mid-push when it comes.
    const PUSHES_PER_WORKER = 200;
    const repos = Array.from({ length: WORKERS }, (_, w) => `crash/loop-w${w}`);
    // A layer every worker pushes concurrently into its own repository (shared bytes on disk).
    const shared = randomBlob(MiB + 7, 999);
    const attempted = new Map<string, Image>(); // "repo:tag" -> image whose manifest PUT was started
    const acked = new Map<string, Image>(); // "repo:tag" -> image whose manifest PUT answered 201

    let interrupted = 0; // pushes cut by a kill
    async function worker(s: TestServer, iter: number, w: number, stop: () => boolean): Promise<void> {
      const repo = repos[w]!;
      for (let n = 0; n < PUSHES_PER_WORKER && !stop(); n++) {
        const seed = 10_000 + iter * 1000 + w * 100 + n;
        const own = randomBlob(256 * 1024 + ((seed * 7919) % (2 * MiB)), seed);
        const img = makeImage({ seed, layers: [shared, own] });
        const tag = `i${iter}-w${w}-n${n}`;
        try {
          for (const [k, x] of [img.config, shared, own].entries()) {
            const status = (n + k) % 2 === 0 ? (await pushBlob(s.url, repo, x)).status : await pushBlobChunked(s.url, repo, x, 192 * 1024);
            if (status !== 201) throw new Error(`blob push ${x.digest} answered ${status}`);
          }
          attempted.set(`${repo}:${tag}`, img);
          const r = await putManifest(s.url, repo, tag, img.manifest.bytes);
          if (r.status === 201) acked.set(`${repo}:${tag}`, img);
          else throw new Error(`manifest push answered ${r.status}: ${await r.text()}`);
        } catch (e) {
          if (stop()) {
            interrupted++; // the server was killed under us: expected
            return;
          }
          throw e;
        }
      }
    }

    async function problems(s: TestServer): Promise<string[]> {
      const out: string[] = [];
      for (const repo of repos) {
        const r = await fetch(`${s.url}/v2/${repo}/tags/list`);
        const body = Buffer.from(await r.arrayBuffer());
        let tags: string[] = [];
        if (r.status === 200) tags = (JSON.parse(body.toString()) as { tags: string[] | null }).tags ?? [];
        else if (!(r.status === 404 && errorCode(body) === 'NAME_UNKNOWN')) out.push(`${repo}: tags/list ${r.status} ${body.toString()}`);
        for (const key of acked.keys()) {
          if (!key.startsWith(`${repo}:`)) continue;
          const tag = key.slice(repo.length + 1);
          if (!tags.includes(tag)) out.push(`${key}: acknowledged with 201 but missing after restart`);
        }
        for (const tag of tags) {
          const img = attempted.get(`${repo}:${tag}`);
          if (!img) {
            out.push(`${repo}:${tag}: a tag nobody pushed`);
            continue;
          }
          const m = await getManifest(s.url, repo, tag);
          if (m.status !== 200) {
            out.push(`${repo}:${tag}: listed but GET answers ${m.status} ${m.bytes.toString().slice(0, 200)}`);
            continue;
          }
          if (sha256(m.bytes) !== img.manifest.digest || m.digestHeader !== img.manifest.digest) {
            out.push(`${repo}:${tag}: resolves to ${sha256(m.bytes)} (header ${m.digestHeader}), pushed ${img.manifest.digest}`);
          }
          for (const x of [img.config, ...img.layers]) {
            const p = await blobProblem(s.url, repo, x.digest, x.size);
            if (p) out.push(`${repo}:${tag}: ${p}`);
          }
        }
      }
      return out;
    }

    for (let iter = 0; iter < ITERATIONS; iter++) {
      const s = await start(dir);
      assert.deepEqual(await problems(s), [], `inconsistent state after restart ${iter}`);
      let killed = false;
      const running = Array.from({ length: WORKERS }, (_, w) => worker(s, iter, w, () => killed));
      // Iteration 0 kills early (mid-blob); the others once this iteration has
      // acknowledged a manifest (bounded wait), then after a varying pause, so
      // the kill lands at different points of the pushes however fast the host is.
      if (iter > 0) {
        const target = acked.size + 1;
        for (let i = 0; i < 600 && acked.size < target; i++) await sleep(50);
      }
      await sleep(150 + 120 * iter);
      killed = true;
      await s.kill();
      const results = await Promise.allSettled(running);
      t.diagnostic(`iteration ${iter}: ${acked.size} manifests acknowledged so far, ${interrupted} pushes interrupted so far`);
      for (const r of results) {
        assert.equal(r.status, 'fulfilled', `a push failed while the server was up: ${r.status === 'rejected' ? String(r.reason) : ''}\n${s.output().slice(-3000)}`);
      }
    }

    const s = await start(dir);
    assert.deepEqual(await problems(s), [], 'inconsistent state after the last restart');
    assert.ok(acked.size > 0, 'no push completed at all in any iteration; the loop tested nothing');
    assert.ok(interrupted > 0, 'no push was in flight at any kill; the loop tested nothing');
    // And the registry still works normally.
    const fin = makeImage({ seed: 77, layers: [shared, blob('final layer')] });
    await pushImage(s.url, repos[0]!, 'final', fin);
    const m = await getManifest(s.url, repos[0]!, 'final');
    assert.equal(m.digestHeader, fin.manifest.digest);
    await s.stop({ keepData: true });
  });
});
