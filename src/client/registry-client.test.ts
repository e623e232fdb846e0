import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, RemoteRegistryError, referrersTag, type PushedManifest } from './registry-client.js';
import { startServer, type TestServer } from '../../test/helpers/server.js';
import { createProject, createUser, setMember, startAuthServer, type AuthServer } from '../../test/helpers/auth.js';
import { makeImage, type Image } from '../../test/helpers/oci.js';
import { distributionAvailable, startDistribution, type Distribution } from '../../test/helpers/upstream-registry.js';

/**
 * The challenge and token flow against a tiny fake upstream on 127.0.0.1
 * (Docker token authentication spec, https://distribution.github.io/distribution/spec/auth/token/).
 * Real behaviour (manifests, blobs, htpasswd) is tested against CNCF Distribution in test/proxy/;
 * writes, tags and referrers further down against a berth server, CNCF Distribution (which has no
 * referrers API) and a berth server with access control.
 */

interface Fake {
  url: string;
  tokenRequests: URL[];
  tokenAuth: (string | undefined)[];
  close(): Promise<void>;
}

async function fakeUpstream(mode: 'bearer' | 'basic' | 'down'): Promise<Fake> {
  const tokenRequests: URL[] = [];
  const tokenAuth: (string | undefined)[] = [];
  let base = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url!, base);
    if (mode === 'down') {
      res.writeHead(503).end();
      return;
    }
    if (u.pathname === '/token') {
      tokenRequests.push(u);
      tokenAuth.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: `tok:${u.searchParams.get('scope')}`, expires_in: 300 }));
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(u.pathname);
    const repo = m?.[1];
    const wanted = mode === 'bearer' ? `Bearer tok:repository:${repo}:pull` : `Basic ${Buffer.from('u:p').toString('base64')}`;
    if (req.headers.authorization !== wanted) {
      const challenge =
        mode === 'bearer'
          ? `Bearer realm="${base}/token",service="fake.test",scope="repository:${repo}:pull"`
          : 'Basic realm="fake"';
      res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (m?.[2] === 'missing') {
      res.writeHead(404).end();
      return;
    }
    const body = '{"schemaVersion":2}';
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'ratelimit-remaining': '99;w=21600' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tokenRequests,
    tokenAuth,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('anonymous bearer flow: one token per scope, cached until it expires', async () => {
  const fake = await fakeUpstream('bearer');
  let now = 1_000_000;
  const logged: object[] = [];
  const client = new RegistryClient({ url: fake.url, now: () => now, log: { info: (o) => logged.push(o), warn: () => undefined } });
  try {
    const m = await client.getManifest('library/node', '20', 1024);
    assert.equal(m?.bytes.toString(), '{"schemaVersion":2}');
    assert.equal(fake.tokenRequests.length, 1);
    assert.equal(fake.tokenRequests[0]!.searchParams.get('service'), 'fake.test');
    assert.equal(fake.tokenRequests[0]!.searchParams.get('scope'), 'repository:library/node:pull');
    assert.equal(fake.tokenAuth[0], undefined, 'anonymous: no credentials sent to the realm');
    await client.headManifest('library/node', '20');
    assert.equal(fake.tokenRequests.length, 1, 'token reused');
    await client.headManifest('library/redis', '7');
    assert.equal(fake.tokenRequests.length, 2, 'another scope, another token');
    now += 301_000;
    await client.headManifest('library/node', '20');
    assert.equal(fake.tokenRequests.length, 3, 'expired token renewed');
    assert.equal(await client.getManifest('library/node', 'missing', 1024), undefined);
    assert.ok(logged.some((o) => (o as { ratelimitRemaining?: string }).ratelimitRemaining === '99;w=21600'));
  } finally {
    await fake.close();
  }
});

test('credentials go to the token realm as Basic', async () => {
  const fake = await fakeUpstream('bearer');
  const client = new RegistryClient({ url: fake.url, username: 'robot', password: 'pw' });
  try {
    await client.headManifest('team/app', '1');
    assert.equal(fake.tokenAuth[0], `Basic ${Buffer.from('robot:pw').toString('base64')}`);
  } finally {
    await fake.close();
  }
});

test('Basic challenge: answered with the configured credentials; refused without them', async () => {
  const fake = await fakeUpstream('basic');
  try {
    const ok = new RegistryClient({ url: fake.url, username: 'u', password: 'p' });
    assert.equal((await ok.getManifest('a/b', '1', 1024))?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const wrong = new RegistryClient({ url: fake.url, username: 'u', password: 'x' });
    await assert.rejects(wrong.headManifest('a/b', '1'), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'refused' && e.status === 401);
    const none = new RegistryClient({ url: fake.url });
    await assert.rejects(none.headManifest('a/b', '1'), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'refused');
  } finally {
    await fake.close();
  }
});

test('5xx and an unreachable upstream are "unavailable"; an oversized manifest is refused', async () => {
  const fake = await fakeUpstream('down');
  try {
    const c = new RegistryClient({ url: fake.url });
    await assert.rejects(c.headManifest('a/b', '1'), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'unavailable' && e.status === 503);
  } finally {
    await fake.close();
  }
  const gone = new RegistryClient({ url: fake.url, timeoutMs: 2000 });
  await assert.rejects(gone.headManifest('a/b', '1'), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'unavailable');
  const bearer = await fakeUpstream('bearer');
  try {
    const c = new RegistryClient({ url: bearer.url });
    await assert.rejects(c.getManifest('a/b', '1', 5), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'invalid');
  } finally {
    await bearer.close();
  }
});

// --- writes, tags and referrers --------------------------------------------------------------------

/**
 * A fake registry for the protocol details real registries here do not exercise: tags and
 * referrers spread over `Link` pages (relative and absolute), an upload Location that carries its
 * own query, a Docker-Content-Digest that disagrees, and the token scope asked for writes.
 */
async function pagingFake(): Promise<Fake & { scopes: string[]; uploads: URL[] }> {
  const scopes: string[] = [];
  const uploads: URL[] = [];
  let base = '';
  const refs = [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 10, artifactType: 'application/x.sig' },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 11, artifactType: 'application/x.sbom' },
  ];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url!, base);
    if (u.pathname === '/token') {
      scopes.push(u.searchParams.get('scope') ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `tok:${u.searchParams.get('scope')}` }));
      return;
    }
    const write = req.method === 'POST' || req.method === 'PUT';
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(u.pathname)?.[1] ?? 'r';
    const wanted = `Bearer tok:repository:${repo}:${write ? 'pull,push' : 'pull'}`;
    if (req.headers.authorization !== wanted) {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${base}/token",service="fake",scope="repository:${repo}:pull"` }).end();
      return;
    }
    const json = (body: unknown, headers: Record<string, string> = {}) => res.writeHead(200, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (u.pathname === '/v2/r/tags/list') {
      const last = u.searchParams.get('last');
      if (last === null) return json({ name: 'r', tags: ['a', 'b'] }, { Link: '</v2/r/tags/list?n=2&last=b>; rel="next"' });
      if (last === 'b') return json({ name: 'r', tags: ['c'] }, { Link: `<${base}/v2/r/tags/list?n=2&last=c>; rel="next"` });
      return json({ name: 'r', tags: [] });
    }
    if (u.pathname.startsWith('/v2/r/referrers/')) {
      const index = (m: unknown[]) => ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: m });
      if (u.searchParams.get('page') === '2') return json(index([refs[1]]));
      return json(index([refs[0]]), { Link: `<${u.pathname}?page=2>; rel="next"` });
    }
    if (req.method === 'HEAD' && u.pathname.startsWith('/v2/r/blobs/')) return void res.writeHead(404).end();
    if (req.method === 'POST' && u.pathname === '/v2/r/blobs/uploads/') {
      return void res.writeHead(202, { Location: '/upload/abc?state=a%2Bb' }).end();
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.method === 'PUT' && u.pathname === '/upload/abc') {
        uploads.push(u);
        const digest = 'sha256:' + createHash('sha256').update(Buffer.concat(parts)).digest('hex');
        res.writeHead(digest === u.searchParams.get('digest') ? 201 : 400, { 'Docker-Content-Digest': digest }).end();
        return;
      }
      if (req.method === 'PUT' && u.pathname === '/v2/r/manifests/liar') {
        res.writeHead(201, { 'Docker-Content-Digest': `sha256:${'0'.repeat(64)}` }).end();
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: base, tokenRequests: [], tokenAuth: [], scopes, uploads, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('Link pages, upload locations with a query, push scopes, digests the registry got wrong', async () => {
  const fake = await pagingFake();
  try {
    const c = new RegistryClient({ url: fake.url });
    assert.deepEqual(await c.listTags('r'), ['a', 'b', 'c'], 'relative and absolute Link pages followed');
    const all = await c.listReferrers('r', `sha256:${'9'.repeat(64)}`);
    assert.deepEqual(all.manifests.map((m) => m.artifactType), ['application/x.sig', 'application/x.sbom']);
    const sboms = await c.listReferrers('r', `sha256:${'9'.repeat(64)}`, 'application/x.sbom');
    assert.deepEqual(sboms.manifests.map((m) => m.digest), [`sha256:${'2'.repeat(64)}`], 'filtered here when the registry did not');
    assert.equal(sboms.filtered, false);
    const bytes = Buffer.from('layer bytes');
    const pushed = await c.putBlob('r', bytes);
    assert.equal(pushed.digest, 'sha256:' + createHash('sha256').update(bytes).digest('hex'));
    assert.equal(fake.uploads.length, 1);
    assert.equal(fake.uploads[0]!.searchParams.get('state'), 'a+b', "the Location's own query is kept as sent");
    assert.deepEqual([...new Set(fake.scopes)].sort(), ['repository:r:pull', 'repository:r:pull,push']);
    await assert.rejects(c.putManifest('r', 'liar', Buffer.from('{"schemaVersion":2}'), 'application/vnd.oci.image.manifest.v1+json'), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.kind === 'invalid' && /hash to/.test(e.message);
    });
    await assert.rejects(c.putManifest('r', 'gone/x', Buffer.from('{}'), 'application/json'), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.code === 'NAME_UNKNOWN' && e.message.startsWith('NAME_UNKNOWN: repository name not known to registry');
    });
  } finally {
    await fake.close();
  }
});

test('referrers tag names: the examples of distribution-spec "Referrers Tag Schema"', () => {
  // The table under "Referrers Tag Schema" in distribution-spec v1.1 spec.md.
  assert.equal(referrersTag(`sha256:${'a'.repeat(64)}`), `sha256-${'a'.repeat(64)}`);
  assert.equal(referrersTag(`sha512:${'a'.repeat(128)}`), `sha512-${'a'.repeat(64)}`);
  assert.equal(
    referrersTag(
      'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
    ),
    'test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot',
  );
});

/** Pushes config and layers (each twice: the second is answered by a HEAD) and the manifest under `ref`. */
async function pushWith(c: RegistryClient, repo: string, ref: string, img: Image): Promise<PushedManifest> {
  for (const b of [img.config, ...img.layers]) {
    assert.deepEqual(await c.putBlob(repo, b.bytes, b.digest), { digest: b.digest, size: b.size });
    assert.deepEqual(await c.putBlob(repo, b.bytes), { digest: b.digest, size: b.size });
  }
  return c.putManifest(repo, ref, img.manifest.bytes, img.mediaType);
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

const SIG = 'application/vnd.example.signature.v1';
const SBOM = 'application/vnd.example.sbom.v1';

/** An image and two artifacts whose subject it is, pushed with the client; answers what the pushes returned. */
async function pushWithReferrers(c: RegistryClient, repo: string) {
  const img = makeImage({ seed: 21 });
  await pushWith(c, repo, 'v1', img);
  const subject = { mediaType: img.mediaType, digest: img.manifest.digest, size: img.manifest.size };
  const sig = makeImage({ seed: 22, subject, artifactType: SIG, annotations: { 'org.example.note': 'signed' } });
  const sbom = makeImage({ seed: 23, subject, artifactType: SBOM });
  const pushedSig = await pushWith(c, repo, sig.manifest.digest, sig);
  const pushedSbom = await pushWith(c, repo, sbom.manifest.digest, sbom);
  return { img, sig, sbom, pushedSig, pushedSbom };
}

describe('RegistryClient against a berth server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { BERTH_GC_SCHEDULE: '', BERTH_LIFECYCLE_SCHEDULE: '' } });
  });
  after(async () => {
    await server.stop();
  });

  test('pushes blobs and manifests, lists tags, reads back', { timeout: 60_000 }, async () => {
    const c = new RegistryClient({ url: server.url });
    const img = makeImage({ seed: 11 });
    const pushed = await pushWith(c, 'team/app', '1', img);
    assert.deepEqual(pushed, { digest: img.manifest.digest, subject: undefined });
    assert.equal((await c.putManifest('team/app', '2', img.manifest.bytes, img.mediaType)).digest, img.manifest.digest);
    assert.equal((await c.putManifest('team/app', img.manifest.digest, img.manifest.bytes, img.mediaType)).digest, img.manifest.digest);
    assert.deepEqual((await c.listTags('team/app')).sort(), ['1', '2']);
    assert.deepEqual(await c.listTags('team/nothing-here'), []);
    const layer = await c.getBlob('team/app', img.layers[0]!.digest);
    assert.ok(layer);
    assert.ok((await readAll(layer.body)).equals(img.layers[0]!.bytes));
    await assert.rejects(c.putBlob('team/app', img.config.bytes, img.layers[0]!.digest), /hash to/);
    await assert.rejects(c.putManifest('team/app', img.config.digest, img.manifest.bytes, img.mediaType), /hash to/);
    const orphan = makeImage({ seed: 12 });
    await assert.rejects(c.putManifest('team/app', 'orphan', orphan.manifest.bytes, orphan.mediaType), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.kind === 'invalid' && e.code === 'MANIFEST_BLOB_UNKNOWN' && e.message.startsWith('MANIFEST_BLOB_UNKNOWN: ');
    });
  });

  test('referrers API: OCI-Subject on push, listing, artifactType filter applied by the registry', { timeout: 60_000 }, async () => {
    const c = new RegistryClient({ url: server.url });
    const { img, sig, sbom, pushedSig, pushedSbom } = await pushWithReferrers(c, 'team/signed');
    assert.equal(pushedSig.subject, img.manifest.digest);
    assert.equal(pushedSig.referrersTag, undefined, 'no referrers tag where the registry has the API');
    assert.equal(pushedSbom.subject, img.manifest.digest);
    const all = await c.listReferrers('team/signed', img.manifest.digest);
    assert.deepEqual(all.manifests.map((d) => d.digest).sort(), [sig.manifest.digest, sbom.manifest.digest].sort());
    assert.equal(all.manifests.find((d) => d.digest === sig.manifest.digest)?.annotations?.['org.example.note'], 'signed');
    const sigs = await c.listReferrers('team/signed', img.manifest.digest, SIG);
    assert.deepEqual(sigs, { manifests: [all.manifests.find((d) => d.digest === sig.manifest.digest)], filtered: true });
    assert.deepEqual((await c.listTags('team/signed')).sort(), ['v1']);
  });
});

describe('RegistryClient against CNCF Distribution (no referrers API)', { skip: distributionAvailable() ? false : 'docker-registry is not installed' }, () => {
  let dir: string;
  let registry: Distribution;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-client-dist-'));
    registry = await startDistribution(dir);
  });
  after(async () => {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('referrers kept under the referrers tag, and read back from it', { timeout: 60_000 }, async () => {
    const c = new RegistryClient({ url: registry.url });
    const { img, sig, sbom, pushedSig, pushedSbom } = await pushWithReferrers(c, 'team/signed');
    const tag = `sha256-${img.manifest.digest.slice('sha256:'.length)}`;
    assert.deepEqual(pushedSig, { digest: sig.manifest.digest, referrersTag: tag });
    assert.equal(pushedSbom.referrersTag, tag);
    // The index under the tag, read here without the client: one descriptor per referrer, as the spec lists them.
    const raw = await fetch(`${registry.url}/v2/team/signed/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json' } });
    const index = (await raw.json()) as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, d.artifactType, d.annotations?.['org.example.note']]),
      [
        [sig.manifest.digest, SIG, 'signed'],
        [sbom.manifest.digest, SBOM, undefined],
      ],
    );
    // Pushing a referrer again does not list it twice.
    assert.equal((await c.putManifest('team/signed', sig.manifest.digest, sig.manifest.bytes, sig.mediaType)).referrersTag, tag);
    const all = await c.listReferrers('team/signed', img.manifest.digest);
    assert.deepEqual(all.manifests.map((d) => d.digest), [sig.manifest.digest, sbom.manifest.digest]);
    assert.equal(all.filtered, false);
    const sboms = await c.listReferrers('team/signed', img.manifest.digest, SBOM);
    assert.deepEqual(sboms.manifests.map((d) => d.digest), [sbom.manifest.digest]);
    assert.deepEqual(await c.listReferrers('team/signed', sig.manifest.digest), { manifests: [], filtered: false }, 'no tag: no referrers');
    assert.deepEqual((await c.listTags('team/signed')).sort(), [tag, 'v1'].sort());
  });

  test('a tag in the way of the referrers tag is not overwritten', { timeout: 60_000 }, async () => {
    const c = new RegistryClient({ url: registry.url });
    const img = makeImage({ seed: 31 });
    await pushWith(c, 'team/clash', 'v1', img);
    const tag = `sha256-${img.manifest.digest.slice('sha256:'.length)}`;
    await c.putManifest('team/clash', tag, img.manifest.bytes, img.mediaType);
    const sig = makeImage({ seed: 32, subject: { mediaType: img.mediaType, digest: img.manifest.digest, size: img.manifest.size }, artifactType: SIG });
    await assert.rejects(pushWith(c, 'team/clash', sig.manifest.digest, sig), /not overwriting/);
    assert.deepEqual(await c.listReferrers('team/clash', img.manifest.digest), { manifests: [], filtered: false }, 'an image under the tag: no referrers');
  });
});

describe('RegistryClient with access control (Docker token flow)', () => {
  let as: AuthServer;
  before(async () => {
    as = await startAuthServer();
  });
  after(async () => {
    await as.server.stop();
  });

  test('a pull,push token for writes; DENIED and UNAUTHORIZED carry the registry code', { timeout: 60_000 }, async () => {
    await createProject(as, 'team', false);
    const reader = await createUser(as, 'reader');
    await setMember(as, 'team', 'reader', 'guest');
    const admin = new RegistryClient({ url: as.url, username: as.admin.username, password: as.admin.password });
    const img = makeImage({ seed: 41 });
    assert.equal((await pushWith(admin, 'team/app', '1', img)).digest, img.manifest.digest);
    assert.deepEqual(await admin.listTags('team/app'), ['1']);

    const readOnly = new RegistryClient({ url: as.url, ...reader });
    assert.equal((await readOnly.getManifest('team/app', '1', 1 << 20))?.bytes.equals(img.manifest.bytes), true);
    await assert.rejects(readOnly.putManifest('team/app', '2', img.manifest.bytes, img.mediaType), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.kind === 'refused' && e.code === 'DENIED' && e.message.startsWith('DENIED: ');
    });
    const anonymous = new RegistryClient({ url: as.url });
    await assert.rejects(anonymous.putManifest('team/app', '3', img.manifest.bytes, img.mediaType), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.kind === 'refused' && (e.code === 'UNAUTHORIZED' || e.code === 'DENIED') && e.message.startsWith(`${e.code}: `);
    });
    // A HEAD answer has no body, so no code: the status says it.
    await assert.rejects(anonymous.putBlob('team/app', Buffer.from('x')), (e: unknown) => {
      return e instanceof RemoteRegistryError && e.kind === 'refused' && (e.status === 401 || e.status === 403);
    });
    const wrong = new RegistryClient({ url: as.url, username: 'reader', password: 'not-the-password' });
    await assert.rejects(wrong.listTags('team/app'), (e: unknown) => e instanceof RemoteRegistryError && e.kind === 'refused');
  });
});
