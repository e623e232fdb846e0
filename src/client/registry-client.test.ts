import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient, RemoteRegistryError } from './registry-client.js';

/**
 * The challenge and token flow against a tiny fake upstream on 127.0.0.1
 * (Docker token authentication spec, https://distribution.github.io/distribution/spec/auth/token/).
 * Real behaviour (manifests, blobs, htpasswd) is tested against CNCF Distribution in test/proxy/.
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
