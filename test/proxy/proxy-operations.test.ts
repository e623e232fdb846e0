import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { sha256 } from '../helpers/oci.js';
import {
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
import { sleep } from '../helpers/e2e-process.js';
import { ACCEPT_ALL_MANIFESTS, errorCode } from '../helpers/e2e-http.js';
import { api, q } from '../helpers/management.js';
import { basic, createProject, createUser, setMember, startAuthServer, type AuthServer } from '../helpers/auth.js';
import {
  assertOk,
  get,
  proxyTestSkip,
  skopeo,
  startCountingProxy,
  startDistribution,
  type CountingProxy,
  type Distribution,
} from '../helpers/upstream-registry.js';

/**
 * Running the pull-through cache: registry-mirror mode, multi-platform images
 * fetched one platform at a time, Prometheus metrics, proxy projects managed
 * through the API, the cache size limit, and access control. The upstream is
 * CNCF Distribution (Debian's docker-registry) behind a request-counting proxy;
 * expected digests and sizes come from the test's own layout builder.
 */

const skip = proxyTestSkip();

/** Bytes a cached image holds: manifest, config and layers (what the size limit counts). */
const imageSize = (img: LayoutImage): number => imageBlobs(img).reduce((n, b) => n + b.size, 0);

/** The value of one Prometheus sample (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2]!.split(',');
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return undefined;
}

/** Polls `check` every 100 ms for at most `ms`; the last failure is rethrown. */
async function eventually(ms: number, check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline || i > 1000) throw e;
      await sleep(100);
    }
  }
}

describe('operating the pull-through cache', { skip }, () => {
  let dir: string;
  let upstream: Distribution;
  let counter: CountingProxy;
  let imageA: LayoutImage;
  let imageB: LayoutImage;
  let imageLocal: LayoutImage;
  let multi: LayoutIndex;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-ops-'));
    upstream = await startDistribution(join(dir, 'upstream'));
    counter = await startCountingProxy(upstream.url);
    imageA = makeLayoutImage({ seed: 81 });
    imageB = makeLayoutImage({ seed: 82 });
    imageLocal = makeLayoutImage({ seed: 83 });
    multi = makeMultiPlatformIndex(84);
    await writeLayout(join(dir, 'a'), [{ tag: '1', descriptor: imageA.descriptor }], imageBlobs(imageA));
    await writeLayout(join(dir, 'b'), [{ tag: '1', descriptor: imageB.descriptor }], imageBlobs(imageB));
    await writeLayout(join(dir, 'local'), [{ tag: '1', descriptor: imageLocal.descriptor }], imageBlobs(imageLocal));
    await writeLayout(join(dir, 'multi'), [{ tag: '1', descriptor: multi.descriptor }], indexBlobs(multi));
    for (const [layout, repo] of [
      ['a', 'library/node:20'],
      ['a', 'library/shadowed:1'],
      ['a', 'team/a:1'],
      ['b', 'team/b:1'],
    ]) {
      assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(dir, layout!)}:1`, `docker://${upstream.host}/${repo}`]));
    }
    // --preserve-digests: skopeo would otherwise compress the arm64 image's plain tar layer on the way.
    assertOk(
      await skopeo([
        'copy',
        '--all',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'multi')}:1`,
        `docker://${upstream.host}/library/multi:1`,
      ]),
    );
  });

  after(async () => {
    await counter?.close();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('mirror mode, multi-platform, metrics and the proxies API', () => {
    let berth: TestServer;

    before(async () => {
      berth = await startServer({
        config: [
          'version: 1',
          'proxies:',
          `  - { project: dockerhub, url: "${counter.url}", dockerHubLibrary: true, manifestTtl: 1h }`,
          'mirror: dockerhub',
          '',
        ].join('\n'),
      });
    });

    after(async () => {
      await berth?.stop();
    });

    test('as a registry mirror, /v2/library/node is the dockerhub project’s library/node, sharing one cache', async () => {
      counter.reset();
      const out = join(dir, 'mirror-pull');
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/library/node:20`, `oci:${out}:20`]));
      const layout = await readLayout(out);
      assert.equal(findRef(layout, '20')?.digest, imageA.manifest.digest);
      for (const b of imageBlobs(imageA)) assert.equal(sha256(layout.blobs.get(b.digest)!), b.digest);
      assert.equal(counter.count('GET', '/v2/library/node/manifests/20'), 1, counter.requests.join('\n'));
      // The same repository under the proxy project's own name: served from the cache, no upstream request.
      counter.reset();
      assertOk(
        await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/library/node:20`, `oci:${join(dir, 'mirror-2')}:20`]),
      );
      assert.deepEqual(counter.requests, []);
    });

    test('in mirror mode a local repository shadows the upstream, and pushes stay local', async () => {
      assertOk(await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(dir, 'local')}:1`, `docker://${berth.host}/library/shadowed:1`]));
      counter.reset();
      const r = await get(`${berth.url}/v2/library/shadowed/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('docker-content-digest'), imageLocal.manifest.digest);
      assert.equal(counter.requests.length, 0, counter.requests.join('\n'));
      // A name neither local nor upstream: the mirror answers for the upstream.
      const missing = await get(`${berth.url}/v2/library/nothing/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing.bytes), 'MANIFEST_UNKNOWN');
      assert.equal(counter.count('GET', '/v2/library/nothing/manifests/1'), 1);
    });

    test('a multi-platform index is cached as is; a platform’s manifest and blobs are fetched only when asked for', async () => {
      counter.reset();
      const idx = await get(`${berth.url}/v2/dockerhub/multi/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(idx.status, 200);
      assert.equal(idx.headers.get('docker-content-digest'), multi.index.digest);
      assert.ok(idx.bytes.equals(multi.index.bytes));
      assert.deepEqual(
        counter.requests.filter((r) => !r.startsWith('GET /v2/ ')),
        ['GET /v2/library/multi/manifests/1'],
      );
      // One platform: its manifest, config and layers; nothing of the other platform.
      const [amd64, arm64] = multi.images as [LayoutImage, LayoutImage];
      const out = join(dir, 'arm64');
      assertOk(
        await skopeo([
          '--override-arch',
          'arm64',
          'copy',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${berth.host}/dockerhub/multi:1`,
          `oci:${out}:1`,
        ]),
      );
      assert.equal(findRef(await readLayout(out), '1')?.digest, arm64.manifest.digest);
      for (const b of imageBlobs(amd64)) {
        assert.equal(counter.requests.filter((r) => r.includes(b.digest)).length, 0, `amd64 ${b.digest} was fetched`);
      }
      for (const b of [arm64.config, ...arm64.layers.map((l) => l.blob)]) {
        assert.equal(counter.count('GET', `/blobs/${b.digest}`), 1, `arm64 blob ${b.digest}`);
      }
      // The whole index, every platform, with the upstream digests.
      const all = join(dir, 'all');
      assertOk(
        await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/multi:1`, `oci:${all}:1`]),
      );
      const layout = await readLayout(all);
      assert.equal(findRef(layout, '1')?.digest, multi.index.digest);
      for (const b of indexBlobs(multi)) assert.equal(sha256(layout.blobs.get(b.digest)!), b.digest);
    });

    test('/metrics counts hits, misses and upstream bytes per proxy project', async () => {
      const before = await (await fetch(`${berth.url}/metrics`)).text();
      const bytesBefore = sample(before, 'berth_proxy_upstream_bytes_total', { project: 'dockerhub' }) ?? 0;
      const hitsBefore = sample(before, 'berth_proxy_lookups_total', { project: 'dockerhub', kind: 'blob', result: 'hit' }) ?? 0;
      // Image B's config and layers are new to the cache: fetched once, then hits.
      counter.reset();
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/team/b:1`, `oci:${join(dir, 'm-b')}:1`]));
      const fetched = imageB.layers.map((l) => l.blob).concat(imageB.config);
      for (const b of fetched) assert.equal(counter.count('GET', `/blobs/${b.digest}`), 1);
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/dockerhub/team/b:1`, `oci:${join(dir, 'm-b2')}:1`]));
      const text = await (await fetch(`${berth.url}/metrics`)).text();
      assert.equal(
        sample(text, 'berth_proxy_upstream_bytes_total', { project: 'dockerhub' })! - bytesBefore,
        fetched.reduce((n, b) => n + b.size, 0),
      );
      const hits = sample(text, 'berth_proxy_lookups_total', { project: 'dockerhub', kind: 'blob', result: 'hit' })! - hitsBefore;
      assert.ok(hits >= fetched.length, `blob hits ${hits}`);
      assert.ok((sample(text, 'berth_proxy_lookups_total', { project: 'dockerhub', kind: 'manifest', result: 'miss' }) ?? 0) >= 1);
      assert.ok(
        (sample(text, 'berth_http_requests_total', { method: 'GET', route: '/v2/:name*/blobs/:digest', status: '200' }) ?? 0) > 0,
        'HTTP requests are counted by route pattern',
      );
    });

    test('proxy projects are managed through /api/v1/proxies; passwords are never shown; config ones are read-only', async () => {
      const put = await api<Record<string, unknown>>(berth.url, 'PUT', `/api/v1/proxies${q('project', 'quay')}`, {
        url: counter.url,
        username: 'robot',
        password: 'hunter2',
        manifestTtl: '30s',
        maxBytes: '1GiB',
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, {
        project: 'quay',
        url: counter.url,
        dockerHubLibrary: false,
        username: 'robot',
        passwordSet: true,
        manifestTtlSeconds: 30,
        maxBytes: 1024 ** 3,
        origin: 'api',
      });
      const list = await api<{ proxies: { project: string; origin: string }[] }>(berth.url, 'GET', '/api/v1/proxies');
      assert.deepEqual(
        list.json!.proxies.map((p) => [p.project, p.origin]),
        [
          ['dockerhub', 'config'],
          ['quay', 'api'],
        ],
      );
      assert.ok(!list.text.includes('hunter2'));
      const audit = await api<{ entries: { action: string }[] }>(berth.url, 'GET', '/api/v1/audit');
      assert.ok(audit.json!.entries.some((e) => e.action === 'proxy.put'));
      assert.ok(!audit.text.includes('hunter2'), 'the audit log holds no upstream password');
      // Distribution here is open: the credentials are only sent when asked for. The new project works at once.
      const out = join(dir, 'via-api');
      assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/quay/team/a:1`, `oci:${out}:1`]));
      assert.equal(findRef(await readLayout(out), '1')?.digest, imageA.manifest.digest);
      // Pushes into it are refused like into any proxy project.
      const post = await fetch(`${berth.url}/v2/quay/team/x/blobs/uploads/`, { method: 'POST' });
      assert.equal(post.status, 403);
      await post.arrayBuffer();

      const bad = await api(berth.url, 'PUT', `/api/v1/proxies${q('project', 'bad')}`, { url: 'ftp://example' });
      assert.equal(bad.status, 400);
      assert.equal(bad.error?.code, 'POLICY_INVALID');
      assert.match(bad.error!.message, /^url: /);
      const half = await api(berth.url, 'PUT', `/api/v1/proxies${q('project', 'bad')}`, { url: counter.url, username: 'x' });
      assert.equal(half.error?.code, 'POLICY_INVALID');
      const fixed = await api(berth.url, 'PUT', `/api/v1/proxies${q('project', 'dockerhub')}`, { url: counter.url });
      assert.equal(fixed.status, 403);
      assert.equal(fixed.error?.code, 'DENIED');
      const badName = await api(berth.url, 'PUT', `/api/v1/proxies${q('project', 'Bad/Name')}`, { url: counter.url });
      assert.equal(badName.error?.code, 'NAME_INVALID');

      assert.equal((await api(berth.url, 'DELETE', `/api/v1/proxies${q('project', 'quay')}`)).status, 204);
      assert.equal((await api(berth.url, 'GET', `/api/v1/proxies${q('project', 'quay')}`)).status, 404);
      // No longer a proxy project: what it cached stays, served as a local repository without asking upstream.
      counter.reset();
      const kept = await get(`${berth.url}/v2/quay/team/a/manifests/1`, { Accept: ACCEPT_ALL_MANIFESTS });
      assert.equal(kept.status, 200);
      assert.equal(kept.headers.get('docker-content-digest'), imageA.manifest.digest);
      assert.equal(counter.requests.length, 0, counter.requests.join('\n'));
    });
  });

  test('over maxBytes, the least recently pulled images are evicted and fetched again when pulled', async () => {
    const sizeA = imageSize(imageA);
    const sizeB = imageSize(imageB);
    // Room for either image, not both.
    const maxBytes = Math.max(sizeA, sizeB) + Math.floor(Math.min(sizeA, sizeB) / 2);
    const berth = await startServer({
      config: ['version: 1', 'proxies:', `  - { project: small, url: "${counter.url}", maxBytes: ${maxBytes} }`, ''].join('\n'),
    });
    try {
      const evictions = async (): Promise<string[]> => {
        const r = await api<{ entries: { action: string; target: string }[] }>(berth.url, 'GET', '/api/v1/audit?limit=1000');
        return r.json!.entries.filter((e) => e.action === 'proxy.evict').map((e) => e.target);
      };
      const pull = async (repo: string, what: string) =>
        assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${berth.host}/small/${repo}:1`, `oci:${join(dir, what)}:1`]));

      await pull('team/a', 'ev-a');
      assert.deepEqual(await evictions(), []);
      await pull('team/b', 'ev-b');
      await eventually(10_000, async () => assert.deepEqual(await evictions(), [`small/team/a@${imageA.manifest.digest}`]));
      const report = await api<{ bytesAfter: number; evicted: unknown[] }>(berth.url, 'POST', `/api/v1/proxies/evict${q('project', 'small')}`);
      assert.equal(report.status, 200, report.text);
      assert.equal(report.json!.bytesAfter, sizeB, 'only image B is left');
      assert.deepEqual(report.json!.evicted, []);

      // B is still cached: no upstream request. A was evicted: its manifest is fetched again (its blobs are
      // still in storage and linked until garbage collection, so no bytes move), and then B goes.
      counter.reset();
      await pull('team/b', 'ev-b2');
      assert.deepEqual(counter.requests, []);
      await pull('team/a', 'ev-a2');
      assert.equal(counter.count('GET', '/v2/team/a/manifests/1'), 1, counter.requests.join('\n'));
      assert.equal(counter.count('GET', '/blobs/'), 0, counter.requests.join('\n'));
      await eventually(10_000, async () =>
        assert.deepEqual(await evictions(), [`small/team/b@${imageB.manifest.digest}`, `small/team/a@${imageA.manifest.digest}`]),
      );
      const metrics = await (await fetch(`${berth.url}/metrics`)).text();
      assert.equal(sample(metrics, 'berth_proxy_evicted_images_total', { project: 'small' }), 2);
    } finally {
      await berth.stop();
    }
  });

  describe('with access control on', () => {
    let as: AuthServer;

    before(async () => {
      as = await startAuthServer({
        BERTH_PROXIES: JSON.stringify([{ project: 'hub', url: counter.url, dockerHubLibrary: true }]),
      });
    });

    after(async () => {
      await as?.server.stop();
    });

    test('pulls through a proxy project follow its project’s access rules', async () => {
      await createProject(as, 'hub', false);
      const reader = await createUser(as, 'reader');
      await setMember(as, 'hub', 'reader', 'guest');
      const src = `docker://${as.server.host}/hub/node:20`;
      // Anonymous: refused (private project), and nothing was fetched upstream for it.
      counter.reset();
      const anon = await skopeo(['copy', '--src-tls-verify=false', src, `oci:${join(dir, 'anon')}:20`]);
      assert.notEqual(anon.code, 0);
      assert.equal(counter.requests.length, 0, counter.requests.join('\n'));
      // A guest of the project pulls, with the upstream digests.
      const out = join(dir, 'guest');
      assertOk(await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `reader:${reader.password}`, src, `oci:${out}:20`]));
      assert.equal(findRef(await readLayout(out), '20')?.digest, imageA.manifest.digest);
      // A guest cannot push into it (no push right), and even the admin is refused: it is a cache.
      const adminPush = await fetch(`${as.url}/v2/hub/node/blobs/uploads/`, { method: 'POST', headers: { Authorization: basic(as.admin) } });
      assert.equal(adminPush.status, 403);
      assert.equal(errorCode(Buffer.from(await adminPush.arrayBuffer())), 'DENIED');
      // The proxies API is for system admins only.
      const asReader = await fetch(`${as.url}/api/v1/proxies`, { headers: { Authorization: basic(reader) } });
      assert.equal(asReader.status, 403);
      await asReader.arrayBuffer();
    });
  });
});
