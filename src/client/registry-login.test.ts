/**
 * verifyRegistryLogin against a fake registry on 127.0.0.1 that challenges as the Docker token
 * spec (Bearer + realm) or RFC 7617 (Basic) says, or not at all; parseChallenges against the
 * examples of the specs.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ManagementApiError } from './management-client.js';
import { isLoopbackHost, verifyRegistryLogin } from './registry-login.js';
import { parseChallenges } from './www-authenticate.js';

type Mode = 'bearer' | 'basic' | 'open' | 'throttled' | 'foreign-realm';

let server: Server;
let base: string;
let mode: Mode = 'bearer';
let seen: Array<{ path: string; query: Record<string, string>; authorization: string | undefined }> = [];

// "Aladdin:open sesame", the example of RFC 7617 section 2.
const GOOD = 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==';
const TOKEN = 'opaque.token.value';

function answer(req: IncomingMessage): { status: number; headers?: Record<string, string>; body?: unknown } {
  const url = new URL(req.url ?? '/', 'http://fake');
  const auth = req.headers.authorization;
  const errors = (code: string, message: string) => ({ errors: [{ code, message }] });
  if (url.pathname === '/token') {
    if (mode === 'throttled') return { status: 429, headers: { 'Retry-After': '30' }, body: errors('TOOMANYREQUESTS', 'too many failed logins') };
    return auth === GOOD ? { status: 200, body: { token: TOKEN, expires_in: 300 } } : { status: 401, body: errors('UNAUTHORIZED', 'invalid username or password') };
  }
  if (url.pathname !== '/v2/') return { status: 404 };
  if (mode === 'open') return { status: 200, body: {} };
  if (mode === 'basic') {
    return auth === GOOD ? { status: 200, body: {} } : { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="registry"' }, body: errors('UNAUTHORIZED', 'authentication required') };
  }
  if (auth === `Bearer ${TOKEN}`) return { status: 200, body: {} };
  const realm = mode === 'foreign-realm' ? 'http://auth.example.com/token' : `${base}/token`;
  return { status: 401, headers: { 'WWW-Authenticate': `Bearer realm="${realm}",service="berth"` }, body: errors('UNAUTHORIZED', 'authentication required') };
}

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    seen.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization });
    const a = answer(req);
    res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
});

const aladdin = { username: 'Aladdin', password: 'open sesame' };
const wrong = { username: 'Aladdin', password: 'wrong' };

describe('verifyRegistryLogin', () => {
  test('Bearer challenge: token from the realm with basic credentials, then /v2/ with the token', async () => {
    mode = 'bearer';
    assert.deepEqual(await verifyRegistryLogin({ registry: base, credentials: aladdin }), { verified: true, via: 'token' });
    assert.deepEqual(
      seen.map((s) => [s.path, s.authorization]),
      [
        ['/v2/', undefined],
        ['/token', GOOD],
        ['/v2/', `Bearer ${TOKEN}`],
      ],
    );
    assert.deepEqual(seen[1]!.query, { service: 'berth', account: 'Aladdin' });
  });

  test('Bearer challenge, wrong password: UNAUTHORIZED after one attempt', async () => {
    mode = 'bearer';
    await assert.rejects(verifyRegistryLogin({ registry: base, credentials: wrong }), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.equal(e.message, 'invalid username or password');
      return true;
    });
    assert.equal(seen.filter((s) => s.authorization?.startsWith('Basic ')).length, 1, 'the password was tried once');
  });

  test('Basic challenge: /v2/ again with the credentials', async () => {
    mode = 'basic';
    assert.deepEqual(await verifyRegistryLogin({ registry: `${base}/`, credentials: aladdin }), { verified: true, via: 'basic' });
    assert.deepEqual(
      seen.map((s) => [s.path, s.authorization]),
      [
        ['/v2/', undefined],
        ['/v2/', GOOD],
      ],
    );
    await assert.rejects(verifyRegistryLogin({ registry: base, credentials: wrong }), (e: unknown) => e instanceof ManagementApiError && e.code === 'UNAUTHORIZED');
  });

  test('an open registry answers 200 anonymously: nothing to verify, credentials never sent', async () => {
    mode = 'open';
    assert.deepEqual(await verifyRegistryLogin({ registry: base, credentials: aladdin }), { verified: false, via: 'open' });
    assert.deepEqual(seen.map((s) => s.authorization), [undefined]);
  });

  test('throttled at the token endpoint: TOOMANYREQUESTS with Retry-After', async () => {
    mode = 'throttled';
    await assert.rejects(verifyRegistryLogin({ registry: base, credentials: aladdin }), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.code, 'TOOMANYREQUESTS');
      assert.equal(e.retryAfterSeconds, 30);
      return true;
    });
  });

  test('a plain-HTTP realm on another, non-loopback host gets no credentials without --insecure', async () => {
    mode = 'foreign-realm';
    await assert.rejects(verifyRegistryLogin({ registry: base, credentials: aladdin }), /plain HTTP.*--insecure/);
    assert.deepEqual(seen.map((s) => s.path), ['/v2/'], 'nothing was sent to the realm');
  });

  test('an unreachable registry is UNAVAILABLE', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    await assert.rejects(verifyRegistryLogin({ registry: `http://127.0.0.1:${port}`, credentials: aladdin }), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.code, 'UNAVAILABLE');
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
  });
});

describe('parseChallenges', () => {
  test('the Docker token spec example: a quoted scope keeps its comma', () => {
    // https://distribution.github.io/distribution/spec/auth/token/ ("How to authenticate")
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
    assert.deepEqual(parseChallenges(h), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    ]);
  });

  test('several challenges in one header, token and quoted values, escapes (RFC 7235 section 4.1 example)', () => {
    const h = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"';
    assert.deepEqual(parseChallenges(h), [
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ]);
  });

  test('case-insensitive names, spaces around =, a bare scheme, a token68', () => {
    assert.deepEqual(parseChallenges('BEARER Realm = "r" , Service=s'), [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]);
    assert.deepEqual(parseChallenges('Negotiate'), [{ scheme: 'negotiate', params: {} }]);
    assert.deepEqual(parseChallenges('Negotiate a87421000492aa874209af8bc028=='), [{ scheme: 'negotiate', params: {} }]);
    assert.deepEqual(parseChallenges(''), []);
  });
});

test('isLoopbackHost: localhost, 127.0.0.1 and [::1], any port', () => {
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:5000']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['example.com', 'localhost.example.com', '127.0.0.10', '::1', '[::2]:5000']) assert.equal(isLoopbackHost(h), false, h);
});
