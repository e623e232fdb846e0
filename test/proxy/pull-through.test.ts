import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { randomBlob, sha256, type Blob } from '../helpers/oci.js';
import { findRef, imageBlobs, makeLayoutImage, readLayout, writeLayout, type LayoutImage } from '../helpers/oci-layout.js';
import { sleep } from '../helpers/e2e-process.js';
import { ACCEPT_ALL_MANIFESTS, errorCode } from '../helpers/e2e-http.js';
import {
  assertOk,
  get,
  proxyTestSkip,
  skopeo,
  htpasswdLine,
  startCountingProxy,
  startDistribution,
  type CountingProxy,
  type Distribution,
} from '../helpers/upstream-registry.js';

/**
 * berth as a pull-through cache of a real, independent registry: CNCF
 * Distribution (Debian's docker-registry) on a loopback port, once open
 * (behind a proxy that counts and can mangle requests) and once with htpasswd
 * authentication. Images are pushed into it with skopeo and pulled through
 * berth with skopeo; digests are computed by the test's layout helper.
 */

const skip = proxyTestSkip();

/** GET that resolves with whatever arrived, also when the connection is cut (never rejects). */
async function getLoose(url: string): Promise<{ status?: number; bytes: Buffer; failed: boolean }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    const parts: Buffer[] = [];
    try {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
    } catch {
      return { status: res.status, bytes: Buffer.concat(parts), failed: true };
    }
    return { status: res.status, bytes: Buffer.concat(parts), failed: false };
  } catch {
    return { bytes: Buffer.alloc(0), failed: true };
  }
}

/** POST then PUT ?digest= (Distribution does not take the single-POST monolithic upload): the final status. */
async function pushBlob(base: string, repo: string, b: Blob): Promise<number> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', b.digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(b.bytes),
  });
  await put.arrayBuffer();
  return put.status;
}

describe('pull-through cache against CNCF Distribution', { skip }, () => {
  let dir: string;
  let upstream: Distribution;
  let secured: Distribution;
  let counter: CountingProxy;
  let berth: TestServer;
  let imageV1: LayoutImage;
  let imageV2: LayoutImage;
  let layoutV1: string;
  let layoutV2: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-'));
    upstream = await startDistribution(join(dir, 'upstream'));
    secured = await startDistribution(join(dir, 'secured'), { htpasswd: htpasswdLine('puller', 's3cret') });
    counter = await startCountingProxy(upstream.url);
    imageV1 = makeLayoutImage({ seed: 61 });
    imageV2 = makeLayoutImage({ seed: 62 });
    layoutV1 = join(dir, 'v1');
    layoutV2 = join(dir, 'v2');
    await writeLayout(layoutV1, [{ tag: '20', descriptor: imageV1.descriptor }], imageBlobs(imageV1));
    await writeLayout(layoutV2, [{ tag: '20', descriptor: imageV2.descriptor }], imageBlobs(imageV2));
    // Straight into Distribution (not through the counter).
    for (const repo of ['library/node:20', 'library/other:1', 'team/app:1']) {
      assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${layoutV1}:20`, `docker://${upstream.host}/${repo}`]));
    }
    assertOk(
      await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'puller:s3cret', `oci:${layoutV1}:20`, `docker://${secured.host}/acme/tool:1`]),
    );
    berth = await startServer({
      config: [
        'version: 1',
        'proxies:',
        `  - { project: dockerhub, url: "${counter.url}", dockerHubLibrary: true, manifestTtl: 2s }`,
        `  - { project: private, url: "${secured.url}", username: puller, password: s3cret }`,
        `  - { project: wrongpw, url: "${secured.url}", username: puller, password: nope }`,
        '',
      ].join('\n'),
    });
  });

  after(async () => {
    await berth?.stop();
    await counter?.close();
    await upstream?.stop();
    await secured?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('skopeo pulls dockerhub/node:20 and dockerhub/library/node:20 through berth with the upstream digests', async () => {
    for (const [i, repo] of ['dockerhub/node', 'dockerhub/library/node'].entries()) {
      const out = join(dir, `pulled-${i}`);
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/${repo}:20`, `oci:${out}:20`]));
      const layout = await readLayout(out);
      assert.equal(findRef(layout, '20')?.digest, imageV1.manifest.digest, repo);
      for (const b of imageBlobs(imageV1)) assert.equal(sha256(layout.blobs.get(b.digest)!), b.digest, `${repo}: ${b.digest}`);
    }
    // Docker Hub naming: both local names came from library/node upstream.
    assert.ok(counter.count('GET', '/v2/library/node/manifests/20') >= 1);
    assert.equal(counter.count('GET', '/v2/node/'), 0);
  });

  test('a second pull makes no blob request upstream', async () => {
    counter.reset();
    const out = join(dir, 'pulled-again');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/node:20`, `oci:${out}:20`]));
    assert.equal(counter.count('GET', '/blobs/'), 0, counter.requests.join('\n'));
    assert.equal(counter.count('HEAD', '/blobs/'), 0, counter.requests.join('\n'));
    assert.equal(counter.count('GET', '/manifests/'), 0, counter.requests.join('\n'));
  });

  test('after manifestTtl a tag is revalidated with one HEAD, and refetched only when its digest changed', async () => {
    await sleep(2200);
    counter.reset();
    const url = `${berth.url}/v2/dockerhub/node/manifests/20`;
    const a = await get(url, { Accept: ACCEPT_ALL_MANIFESTS });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('docker-content-digest'), imageV1.manifest.digest);
    assert.equal(counter.count('HEAD', '/v2/library/node/manifests/20'), 1, counter.requests.join('\n'));
    assert.equal(counter.count('GET', '/manifests/'), 0, counter.requests.join('\n'));
    // Within the freshness time: not even a HEAD.
    counter.reset();
    assert.equal((await get(url, { Accept: ACCEPT_ALL_MANIFESTS })).status, 200);
    assert.equal(counter.requests.length, 0, counter.requests.join('\n'));

    // The tag moves upstream: after the freshness time berth follows it.
    assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${layoutV2}:20`, `docker://${upstream.host}/library/node:20`]));
    await sleep(2200);
    counter.reset();
    const b = await get(url, { Accept: ACCEPT_ALL_MANIFESTS });
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('docker-content-digest'), imageV2.manifest.digest);
    assert.ok(b.bytes.equals(imageV2.manifest.bytes));
    assert.equal(counter.count('HEAD', '/v2/library/node/manifests/20'), 1, counter.requests.join('\n'));
    assert.equal(counter.count('GET', '/v2/library/node/manifests/20'), 1, counter.requests.join('\n'));
    // The old manifest stays pullable by digest from the cache.
    counter.reset();
    assert.equal((await get(`${berth.url}/v2/dockerhub/node/manifests/${imageV1.manifest.digest}`, { Accept: ACCEPT_ALL_MANIFESTS })).status, 200);
    assert.equal(counter.requests.length, 0);
    // Cache the new image's blobs too (the offline test pulls it).
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/node:20`, `oci:${join(dir, 'v2-pulled')}:20`]));
  });

  test('20 concurrent pulls of an uncached blob make one upstream fetch, and every client gets the right bytes', async () => {
    const big = randomBlob(3 * 1024 * 1024 + 17, 6161);
    assert.equal(await pushBlob(upstream.url, 'library/big', big), 201);
    counter.reset();
    const url = `${berth.url}/v2/dockerhub/big/blobs/${big.digest}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => get(url)));
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(sha256(r.bytes), big.digest);
    }
    assert.equal(counter.count('GET', `/blobs/${big.digest}`), 1, counter.requests.join('\n'));
    // Cached now.
    counter.reset();
    const again = await get(url);
    assert.equal(sha256(again.bytes), big.digest);
    assert.equal(counter.requests.length, 0);
  });

  for (const fault of ['corrupt', 'truncate'] as const) {
    test(`a ${fault === "corrupt" ? "corrupted" : "truncated"} upstream transfer is never served from the cache`, async () => {
      const b = randomBlob(512 * 1024 + (fault === 'corrupt' ? 1 : 2), fault === 'corrupt' ? 7001 : 7002);
      assert.equal(await pushBlob(upstream.url, `library/${fault}`, b), 201);
      const url = `${berth.url}/v2/dockerhub/${fault}/blobs/${b.digest}`;
      counter.fault = fault;
      try {
        const bad = await getLoose(url);
        // The client must not receive the complete body: the tail is held back until the digest is verified.
        assert.ok(bad.failed || bad.status !== 200 || bad.bytes.length < b.size, `got ${bad.bytes.length} bytes with status ${bad.status}`);
      } finally {
        counter.fault = 'none';
      }
      counter.reset();
      const good = await get(url);
      assert.equal(good.status, 200);
      assert.equal(sha256(good.bytes), b.digest);
      assert.equal(counter.count('GET', `/blobs/${b.digest}`), 1, 'fetched again, not served from a bad copy');
    });
  }

  test('pushes into a proxy project are DENIED', async () => {
    const r = await skopeo(['copy', '--dest-tls-verify=false', `oci:${layoutV1}:20`, `docker://${berth.host}/dockerhub/mine:1`]);
    assert.notEqual(r.code, 0);
    const post = await fetch(`${berth.url}/v2/dockerhub/mine/blobs/uploads/`, { method: 'POST' });
    assert.equal(post.status, 403);
    assert.equal(errorCode(Buffer.from(await post.arrayBuffer())), 'DENIED');
    const put = await fetch(`${berth.url}/v2/dockerhub/mine/manifests/1`, {
      method: 'PUT',
      headers: { 'Content-Type': imageV1.descriptor.mediaType },
      body: new Uint8Array(imageV1.manifest.bytes),
    });
    assert.equal(put.status, 403);
    assert.equal(errorCode(Buffer.from(await put.arrayBuffer())), 'DENIED');
    // Other projects still take pushes.
    assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${layoutV1}:20`, `docker://${berth.host}/local/mine:1`]));
  });

  test('an htpasswd-protected upstream is pulled with the configured credentials; wrong ones give a clear error', async () => {
    const out = join(dir, 'pulled-private');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/private/acme/tool:1`, `oci:${out}:1`]));
    assert.equal(findRef(await readLayout(out), '1')?.digest, imageV1.manifest.digest);
    const bad = await get(`${berth.url}/v2/wrongpw/acme/tool/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
    assert.equal(bad.status, 503);
    assert.equal(errorCode(bad.bytes), 'UNAVAILABLE');
    assert.match(bad.bytes.toString(), new RegExp(`${secured.url.replace(/[.]/g, '\\.')}.*refused`));
  });

  test('with the upstream down, cached tags and digests still pull (marked stale); uncached ones fail naming the upstream', async () => {
    await upstream.stop();
    try {
      await sleep(2200); // let the tag's freshness expire, so berth has to ask the upstream
      const out = join(dir, 'offline');
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/node:20`, `oci:${out}:20`]));
      assert.equal(findRef(await readLayout(out), '20')?.digest, imageV2.manifest.digest);
      await sleep(2200);
      const tag = await get(`${berth.url}/v2/dockerhub/node/manifests/20`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(tag.status, 200);
      assert.equal(tag.headers.get('x-berth-cache'), 'stale');
      const byDigest = await get(`${berth.url}/v2/dockerhub/library/node/manifests/${imageV1.manifest.digest}`, {
        Accept: ACCEPT_ALL_MANIFESTS,
      });
      assert.equal(byDigest.status, 200);
      const uncached = await get(`${berth.url}/v2/dockerhub/other/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(uncached.status, 503);
      assert.equal(errorCode(uncached.bytes), 'UNAVAILABLE');
      assert.ok(uncached.bytes.toString().includes(counter.url), uncached.bytes.toString());
      const r = await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/team/app:1`, `oci:${join(dir, 'no')}:1`]);
      assert.notEqual(r.code, 0);
    } finally {
      await upstream.restart();
    }
    const out = join(dir, 'back-online');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/other:1`, `oci:${out}:1`]));
    assert.equal(findRef(await readLayout(out), '1')?.digest, imageV1.manifest.digest);
  });
});
