import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { imageBlobs, indexBlobs, makeLayoutIndex, writeLayout, type LayoutImage, type LayoutIndex } from '../helpers/oci-layout.js';
import { onPath, runCommand, sleep } from '../helpers/e2e-process.js';
import { ACCEPT_ALL_MANIFESTS, errorCode } from '../helpers/e2e-http.js';
import { api, q } from '../helpers/management.js';
import { OSV_RECORDS, vulnerableImage } from '../helpers/scan-images.js';
import { buildZip } from '../../src/scan/advisories/test-helpers.js';

/**
 * Scanning inside the registry, end to end: scan on push through the job
 * queue, the report at /api/v1/scan/<name>/<digest>, the CycloneDX SBOM as a
 * referrer, re-matching when the advisory database is updated (from a local
 * server speaking the OSV export layout), and the "prevent vulnerable images
 * from being pulled" policy with its allowlist and its rule for unscanned
 * images. Expected IDs come from the real advisories (test/helpers/scan-images.ts).
 */

const SKOPEO = onPath('skopeo');

interface ScanView {
  status: string;
  counts?: Record<string, number>;
  findings?: { id: string; package: { name: string }; fixedVersion?: string }[];
  platforms?: { platform: string; digest: string }[];
}

/** The OSV export layout, <base>/<ecosystem>/all.zip, with contents the test switches. */
async function startAdvisoryServer(): Promise<{ url: string; serve: Map<string, Buffer>; close(): Promise<void> }> {
  const serve = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const m = /^\/([^/]+)\/all\.zip$/.exec(req.url ?? '');
    const body = m ? serve.get(decodeURIComponent(m[1]!)) : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': body.length, ETag: etag }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function zipOf(...files: string[]): Promise<Buffer> {
  return buildZip(await Promise.all(files.map(async (f) => ({ name: f.split('/').pop()!, data: await readFile(join(OSV_RECORDS, f)) }))));
}

describe('scanning in the registry', { skip: SKOPEO === undefined ? 'skopeo is not on PATH' : false }, () => {
  let dir: string;
  let advisories: Awaited<ReturnType<typeof startAdvisoryServer>>;
  let berth: TestServer;
  let image: LayoutImage;
  let multi: LayoutIndex;

  const scanOf = async (repo: string, digest: string) => (await api<ScanView>(berth.url, 'GET', `/api/v1/scan/${repo}/${digest}`)).json!;
  const ids = (v: ScanView) => (v.findings ?? []).map((f) => f.id).sort();
  const pull = (repo: string, ref: string) => fetch(`${berth.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (await check()) return;
      await sleep(100);
    }
    assert.fail(`timed out waiting for ${what}`);
  }
  const push = async (layout: string, target: string, all = false) => {
    const r = await runCommand(SKOPEO!, ['--insecure-policy', 'copy', ...(all ? ['--all', '--preserve-digests'] : []), '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${berth.host}/${target}`]);
    assert.equal(r.code, 0, r.describe());
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registry-scan-'));
    advisories = await startAdvisoryServer();
    // At first the database knows the Alpine advisory; the npm export holds only an unrelated record.
    advisories.serve.set('Alpine', await zipOf('alpine/ALPINE-CVE-2025-26519.json'));
    advisories.serve.set('npm', await zipOf('pypi/PYSEC-2023-62.json'));
    image = vulnerableImage(501);
    multi = makeLayoutIndex([vulnerableImage(502), { ...vulnerableImage(503), platform: { os: 'linux', architecture: 'arm64' } }]);
    await writeLayout(join(dir, 'image'), [{ tag: '1', descriptor: image.descriptor }], imageBlobs(image));
    await writeLayout(join(dir, 'multi'), [{ tag: '1', descriptor: multi.descriptor }], indexBlobs(multi));
    berth = await startServer({
      env: {
        BERTH_SCAN_DB_BASEURL: advisories.url,
        BERTH_SCAN_DB_ECOSYSTEMS: '["Alpine","npm"]',
        BERTH_SCAN_DB_SCHEDULE: '*/1 * * * * *',
        BERTH_GC_SCHEDULE: '',
        BERTH_LIFECYCLE_SCHEDULE: '',
      },
    });
    const policy = { scanOnPush: true, preventVulnerable: { severity: 'HIGH', unscanned: 'deny' } };
    const put = await api(berth.url, 'PUT', `/api/v1/scanning/policy${q('target', 'team/*')}`, policy);
    assert.equal(put.status, 200, put.text);
  });

  after(async () => {
    await berth?.stop();
    await advisories?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a pushed image is scanned; its report and CycloneDX SBOM referrer are served; the pull is refused', async () => {
    await push(join(dir, 'image'), 'team/app:1');
    const digest = image.manifest.digest;
    await waitFor('the musl finding', async () => ids(await scanOf('team/app', digest)).includes('CVE-2025-26519'));
    const view = await scanOf('team/app', digest);
    assert.equal(view.status, 'done');
    assert.deepEqual(ids(view), ['CVE-2025-26519']);
    assert.equal(view.findings![0]!.fixedVersion, '1.2.4_git20230717-r5');
    assert.equal(view.counts!.high, 1);

    const refs = (await api<{ manifests: { digest: string; artifactType: string }[] }>(
      berth.url,
      'GET',
      `/v2/team/app/referrers/${digest}?artifactType=${encodeURIComponent('application/vnd.cyclonedx+json')}`,
    )).json!;
    assert.equal(refs.manifests.length, 1);
    // The SBOM itself stays pullable (artifacts are never blocked), and it lists musl.
    const sbomManifest = await pull('team/app', refs.manifests[0]!.digest);
    assert.equal(sbomManifest.status, 200);
    const layer = ((await sbomManifest.json()) as { layers: { digest: string }[] }).layers[0]!;
    const bom = (await (await fetch(`${berth.url}/v2/team/app/blobs/${layer.digest}`)).json()) as { components: { purl?: string }[] };
    assert.ok(bom.components.some((c) => c.purl?.startsWith('pkg:apk/alpine/musl@1.2.4_git20230717-r4')));

    for (const ref of ['1', digest]) {
      const r = await pull('team/app', ref);
      assert.equal(r.status, 403);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(errorCode(body), 'DENIED');
      assert.match(body.toString(), /has 1 vulnerability at HIGH or above \(CVE-2025-26519\)/);
    }
  });

  test('a newer advisory database finds new vulnerabilities in images scanned before', async () => {
    advisories.serve.set('npm', await zipOf('npm/GHSA-p6mc-m468-83gw.json', 'npm/GHSA-whgm-jr23-g3j9.json'));
    const digest = image.manifest.digest;
    await waitFor('the npm findings', async () => ids(await scanOf('team/app', digest)).length === 3);
    assert.deepEqual(ids(await scanOf('team/app', digest)), ['CVE-2020-8203', 'CVE-2021-23424', 'CVE-2025-26519']);
    const r = await pull('team/app', '1');
    assert.equal(r.status, 403);
    assert.match(await r.text(), /has 3 vulnerabilities at HIGH or above/);
  });

  test('allowlisted vulnerabilities (by ID or alias) no longer block; an expired entry does', async () => {
    const policy = (expires: string) => ({
      scanOnPush: true,
      preventVulnerable: { severity: 'HIGH', unscanned: 'deny' },
      allowlist: [
        { id: 'CVE-2025-26519', reason: 'not reachable from the app' },
        { id: 'GHSA-p6mc-m468-83gw' },
        { id: 'CVE-2021-23424', expires },
      ],
    });
    assert.equal((await api(berth.url, 'PUT', `/api/v1/scanning/policy${q('target', 'team/app')}`, policy('2000-01-01'))).status, 200);
    const still = await pull('team/app', '1');
    assert.equal(still.status, 403);
    assert.match(await still.text(), /has 1 vulnerability at HIGH or above \(CVE-2021-23424\)/);
    assert.equal((await api(berth.url, 'PUT', `/api/v1/scanning/policy${q('target', 'team/app')}`, policy('2999-01-01'))).status, 200);
    assert.equal((await pull('team/app', '1')).status, 200);
    const bad = await api(berth.url, 'PUT', `/api/v1/scanning/policy${q('target', 'team/app')}`, { preventVulnerable: { severity: 'SEVERE' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.error?.code, 'POLICY_INVALID');
    assert.match(bad.error!.message, /^preventVulnerable\.severity: /);
  });

  test('unscanned images follow the policy; POST scans on demand', async () => {
    const target = 'solo/app';
    const policy = { scanOnPush: false, preventVulnerable: { severity: 'CRITICAL', unscanned: 'deny' } };
    assert.equal((await api(berth.url, 'PUT', `/api/v1/scanning/policy${q('target', target)}`, policy)).status, 200);
    // Reports belong to digests: this image must be one never scanned before.
    const fresh = vulnerableImage(504);
    await writeLayout(join(dir, 'fresh'), [{ tag: '1', descriptor: fresh.descriptor }], imageBlobs(fresh));
    await push(join(dir, 'fresh'), `${target}:1`);
    const digest = fresh.manifest.digest;
    assert.equal((await scanOf(target, digest)).status, 'not-scanned');
    const refused = await pull(target, '1');
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /has not been scanned yet/);
    const scanned = await api<{ status: string }>(berth.url, 'POST', `/api/v1/scan/${target}/${digest}?wait=true`);
    assert.equal(scanned.json?.status, 'done', scanned.text);
    assert.equal((await pull(target, '1')).status, 200, 'no CRITICAL finding');
    const unknown = await api(berth.url, 'GET', `/api/v1/scan/${target}/sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error?.code, 'MANIFEST_UNKNOWN');
  });

  test('every platform of a pushed index is scanned; the index is judged by all of them', async () => {
    await push(join(dir, 'multi'), 'team/multi:1', true);
    await waitFor('the index report', async () => (await scanOf('team/multi', multi.index.digest)).platforms?.length === 2);
    const view = await scanOf('team/multi', multi.index.digest);
    assert.deepEqual(view.platforms!.map((p) => p.platform).sort(), ['linux/amd64', 'linux/arm64']);
    assert.equal(view.counts!.high, 6, 'three HIGH findings on each platform');
    for (const img of multi.images) assert.deepEqual(ids(await scanOf('team/multi', img.manifest.digest)).length, 3);
    const r = await pull('team/multi', '1');
    assert.equal(r.status, 403);
    assert.match(await r.text(), /has 3 vulnerabilities at HIGH or above/);
  });
});
