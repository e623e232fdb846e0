/**
 * The client against a protocol fake on 127.0.0.1 that answers as docs/management-api.md says,
 * recording every request so the tests can check method, path, query and body.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ManagementApiError, ManagementClient, basicAuthorization, retryAfter } from './management-client.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  contentType: string | undefined;
  accept: string | undefined;
  authorization: string | undefined;
}

type Reply = { status: number; body?: string; contentType?: string; headers?: Record<string, string> };

let server: Server;
let base: string;
let seen: Seen[] = [];
/** What the fake answers next; set by each test. */
let reply: (req: IncomingMessage) => Reply = () => ({ status: 500 });
const hanging = new Set<ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      seen.push({
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: Buffer.concat(chunks).toString('utf8'),
        contentType: req.headers['content-type'],
        accept: req.headers.accept,
        authorization: req.headers.authorization,
      });
      const r = reply(req);
      if (r.status === 0) {
        hanging.add(res); // never answers: the client's timeout must fire
        return;
      }
      res.writeHead(r.status, { ...(r.body === undefined ? {} : { 'Content-Type': r.contentType ?? 'application/json' }), ...r.headers });
      res.end(r.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  seen = [];
});

const json = (status: number, doc: unknown): Reply => ({ status, body: JSON.stringify(doc) });
const only = (): Seen => {
  assert.equal(seen.length, 1, 'exactly one request');
  return seen[0]!;
};

const PLAN = {
  repository: 'team/app',
  now: '2026-11-27T10:00:00.000Z',
  policyTarget: 'team/*',
  applied: false,
  expire: [{ digest: 'sha256:' + 'a'.repeat(64), tags: ['v1'], rule: 1, reason: 'rank 11 of 12 among images tagged v*; rule keeps 10' }],
  keep: [{ digest: 'sha256:' + 'b'.repeat(64), tags: ['v9'], rule: 1, reason: 'rank 2 of 12; rule keeps 10' }],
};

describe('ManagementClient requests', () => {
  test('lifecycle policy: the target travels in the query, the policy text is sent verbatim', async () => {
    const text = '{ "rules": [ {"rulePriority": 1} ] }\n';
    reply = () => json(200, { target: 'team/*', policy: { rules: [{ rulePriority: 1 }] }, updatedAt: '2026-01-01T00:00:00.000Z' });
    const c = new ManagementClient({ server: base });
    const rec = await c.putLifecyclePolicy('team/*', text);
    const r = only();
    assert.equal(r.method, 'PUT');
    assert.equal(r.path, '/api/v1/lifecycle/policy');
    assert.deepEqual(r.query, { target: 'team/*' });
    assert.equal(r.body, text);
    assert.equal(r.contentType, 'application/json');
    assert.equal(r.accept, 'application/json');
    assert.deepEqual(rec, { target: 'team/*', policy: { rules: [{ rulePriority: 1 }] }, updatedAt: '2026-01-01T00:00:00.000Z' });

    seen = [];
    await c.getLifecyclePolicy('team/app/preview');
    assert.deepEqual([only().method, only().path, only().query], ['GET', '/api/v1/lifecycle/policy', { target: 'team/app/preview' }]);
    assert.equal(only().body, '');
  });

  test('DELETE answers 204 and resolves to nothing', async () => {
    reply = () => ({ status: 204 });
    const c = new ManagementClient({ server: base });
    assert.equal(await c.deleteLifecyclePolicy('team/app'), undefined);
    assert.equal(await c.deleteImmutability('team/*'), undefined);
    assert.equal(await c.deleteQuota('team'), undefined);
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.query]),
      [
        ['DELETE', '/api/v1/lifecycle/policy', { target: 'team/app' }],
        ['DELETE', '/api/v1/immutability', { target: 'team/*' }],
        ['DELETE', '/api/v1/quota', { project: 'team' }],
      ],
    );
  });

  test('preview passes now only when given; apply is a POST; the plan comes back parsed', async () => {
    reply = () => json(200, PLAN);
    const c = new ManagementClient({ server: base });
    assert.deepEqual(await c.previewLifecycle('team/app'), PLAN);
    await c.previewLifecycle('team/app', { now: '2026-11-27T10:00:00.000Z' });
    reply = () => json(200, { ...PLAN, applied: true });
    const applied = await c.applyLifecycle('team/app');
    assert.equal(applied.applied, true);
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.query]),
      [
        ['GET', '/api/v1/lifecycle/preview', { repository: 'team/app' }],
        ['GET', '/api/v1/lifecycle/preview', { repository: 'team/app', now: '2026-11-27T10:00:00.000Z' }],
        ['POST', '/api/v1/lifecycle/apply', { repository: 'team/app' }],
      ],
    );
  });

  test('immutability and quota bodies', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => json(200, { target: 'team/*', rules: [{ tagPatternList: ['v*'] }], updatedAt: 'x' });
    await c.putImmutability('team/*', { rules: [{ tagPatternList: ['v*'] }] });
    assert.deepEqual(JSON.parse(only().body), { rules: [{ tagPatternList: ['v*'] }] });
    assert.equal(only().path, '/api/v1/immutability');
    seen = [];
    reply = () => json(200, { project: 'team', bytes: 10737418240, tags: null });
    const q = await c.putQuota('team', { bytes: 10737418240, tags: null });
    assert.deepEqual(q, { project: 'team', bytes: 10737418240, tags: null });
    assert.deepEqual([only().method, only().path, only().query], ['PUT', '/api/v1/quota', { project: 'team' }]);
    assert.deepEqual(JSON.parse(only().body), { bytes: 10737418240, tags: null }, 'both keys, null included');
    seen = [];
    await c.getQuota('team');
    assert.deepEqual([only().method, only().query], ['GET', { project: 'team' }]);
  });

  test('usage, gc and audit: optional query parameters appear only when set', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => json(200, { projects: [] });
    await c.usage();
    await c.usage({ project: 'team' });
    reply = () => json(200, { dryRun: true, blobsDeleted: 0 });
    await c.gc();
    await c.gc({ dryRun: true });
    reply = () => json(200, { entries: [] });
    await c.audit();
    await c.audit({ limit: 5 });
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.query]),
      [
        ['GET', '/api/v1/usage', {}],
        ['GET', '/api/v1/usage', { project: 'team' }],
        ['POST', '/api/v1/gc', {}],
        ['POST', '/api/v1/gc', { dryRun: 'true' }],
        ['GET', '/api/v1/audit', {}],
        ['GET', '/api/v1/audit', { limit: '5' }],
      ],
    );
  });

  test('a base URL with a path prefix and a trailing slash keeps the prefix', async () => {
    reply = () => json(200, { projects: [] });
    await new ManagementClient({ server: `${base}/berth/` }).usage();
    assert.equal(only().path, '/berth/api/v1/usage');
  });

  test('refuses a server URL that is not http(s)', () => {
    assert.throws(() => new ManagementClient({ server: 'localhost:5000' }), /invalid server URL/);
    assert.throws(() => new ManagementClient({ server: 'ftp://h/' }), /only http and https/);
    assert.throws(() => new ManagementClient({ server: 'not a url' }), /invalid server URL/);
  });
});

describe('ManagementClient errors', () => {
  test('an error body becomes a ManagementApiError with code, message, status and detail', async () => {
    const detail = { rule: 1, field: 'selection.countNumber' };
    reply = () =>
      json(400, {
        errors: [
          { code: 'POLICY_INVALID', message: 'rule 1: selection.countNumber must be a positive integer', detail },
          { code: 'POLICY_INVALID', message: 'rule 2: action.type must be expire' },
        ],
      });
    const err = await new ManagementClient({ server: base }).putLifecyclePolicy('team/app', '{}').then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ManagementApiError);
    assert.equal(err.code, 'POLICY_INVALID');
    assert.equal(err.status, 400);
    assert.equal(err.message, 'rule 1: selection.countNumber must be a positive integer');
    assert.deepEqual(err.detail, detail);
    assert.equal(err.errors.length, 2);
    assert.equal(err.errors[1]!.message, 'rule 2: action.type must be expire');
  });

  test('404 NOT_FOUND on get; a bare 404 without a JSON body is still an error with the status', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => json(404, { errors: [{ code: 'NOT_FOUND', message: 'no lifecycle policy for team/app' }] });
    await assert.rejects(c.getLifecyclePolicy('team/app'), (e: unknown) => e instanceof ManagementApiError && e.code === 'NOT_FOUND' && e.status === 404);
    reply = () => ({ status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' });
    await assert.rejects(c.usage(), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.code, 'UNKNOWN');
      assert.equal(e.status, 502);
      assert.match(e.message, /HTTP 502.*bad gateway/);
      return true;
    });
  });

  test('a 2xx answer that is not a JSON object is refused', async () => {
    reply = () => ({ status: 200, body: 'ok', contentType: 'text/plain' });
    await assert.rejects(new ManagementClient({ server: base }).usage(), (e: unknown) => e instanceof ManagementApiError && e.code === 'UNKNOWN' && /not a JSON object/.test(e.message));
  });

  test('a refused connection says it cannot reach berth at the URL', async () => {
    // A port that was just free: bind, note it, close.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const url = `http://127.0.0.1:${port}`;
    await assert.rejects(new ManagementClient({ server: url }).usage(), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.code, 'UNAVAILABLE');
      assert.equal(e.status, 0);
      assert.ok(e.message.startsWith(`cannot reach berth at ${url}: `), e.message);
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
  });

  test('a server that does not answer in time is reported with the timeout', async () => {
    reply = () => ({ status: 0 });
    const started = Date.now();
    await assert.rejects(new ManagementClient({ server: base, timeoutMs: 150 }).gc(), (e: unknown) => {
      assert.ok(e instanceof ManagementApiError);
      assert.equal(e.status, 0);
      assert.match(e.message, /did not answer within 150 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'gave up promptly');
  });
});

describe('ManagementClient access control (docs/management-api.md, "Access control endpoints")', () => {
  const USER = { name: 'bob', systemAdmin: false, disabled: false, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z' };
  const ROBOT = {
    name: 'robot$team+ci',
    project: 'team',
    actions: ['pull', 'push'],
    repositoryPattern: null,
    expiresAt: null,
    disabled: false,
    description: null,
    createdAt: '2026-11-27T10:00:00.000Z',
    createdBy: 'admin',
  };

  test('credentials go as HTTP basic on every request (RFC 7617: base64 of user:password)', async () => {
    reply = () => json(200, { users: [] });
    const c = new ManagementClient({ server: base, credentials: { username: 'Aladdin', password: 'open sesame' } });
    await c.listUsers();
    await c.listProjects();
    // The example of RFC 7617 section 2.
    assert.deepEqual(
      seen.map((x) => x.authorization),
      ['Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='],
    );
    assert.equal(basicAuthorization({ username: 'test', password: '123\u00a3' }), 'Basic dGVzdDoxMjPCow==', 'UTF-8, RFC 7617 section 2.1');
  });

  test('a credentials function is asked once, lazily; no credentials means no Authorization header', async () => {
    reply = () => json(200, { users: [] });
    let calls = 0;
    const c = new ManagementClient({
      server: base,
      credentials: async () => {
        calls++;
        return { username: 'u', password: 'p:w' };
      },
    });
    assert.equal(calls, 0, 'not before a request');
    await c.listUsers();
    await c.listUsers();
    assert.equal(calls, 1);
    assert.equal(seen[0]!.authorization, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
    seen = [];
    await new ManagementClient({ server: base, credentials: async () => undefined }).listUsers();
    await new ManagementClient({ server: base }).listUsers();
    assert.deepEqual(seen.map((x) => x.authorization), [undefined, undefined]);
  });

  test('users: list, create, update, delete with names in the query', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => json(200, { users: [USER] });
    assert.deepEqual(await c.listUsers(), { users: [USER] });
    reply = () => json(201, USER);
    assert.deepEqual(await c.createUser({ name: 'bob', password: 'correct horse', systemAdmin: true }), USER);
    reply = () => json(200, USER);
    await c.updateUser('bob', { password: 'battery staple' });
    reply = () => ({ status: 204 });
    await c.deleteUser('bob');
    assert.deepEqual(
      seen.map((x) => [x.method, x.path, x.query, x.body === '' ? undefined : JSON.parse(x.body)]),
      [
        ['GET', '/api/v1/users', {}, undefined],
        ['POST', '/api/v1/users', {}, { name: 'bob', password: 'correct horse', systemAdmin: true }],
        ['PUT', '/api/v1/users', { name: 'bob' }, { password: 'battery staple' }],
        ['DELETE', '/api/v1/users', { name: 'bob' }, undefined],
      ],
    );
  });

  test('projects and members', async () => {
    const c = new ManagementClient({ server: base });
    const project = { name: 'team', public: false, createdAt: '2026-11-27T10:00:00.000Z', createdBy: 'admin' };
    reply = () => json(201, project);
    await c.createProject('team');
    await c.createProject('pub', { public: true });
    reply = () => json(200, project);
    await c.updateProject('team', { public: false });
    reply = () => json(200, { projects: [project] });
    await c.listProjects();
    reply = () => json(200, { project: 'team', username: 'bob', role: 'developer' });
    assert.deepEqual(await c.setMember('team', 'bob', 'developer'), { project: 'team', username: 'bob', role: 'developer' });
    reply = () => json(200, { members: [] });
    await c.listMembers('team');
    reply = () => ({ status: 204 });
    await c.removeMember('team', 'bob');
    await c.deleteProject('team');
    assert.deepEqual(
      seen.map((x) => [x.method, x.path, x.query, x.body === '' ? undefined : JSON.parse(x.body)]),
      [
        ['POST', '/api/v1/projects', {}, { name: 'team' }],
        ['POST', '/api/v1/projects', {}, { name: 'pub', public: true }],
        ['PUT', '/api/v1/projects', { name: 'team' }, { public: false }],
        ['GET', '/api/v1/projects', {}, undefined],
        ['PUT', '/api/v1/members', { project: 'team' }, { username: 'bob', role: 'developer' }],
        ['GET', '/api/v1/members', { project: 'team' }, undefined],
        ['DELETE', '/api/v1/members', { project: 'team', username: 'bob' }, undefined],
        ['DELETE', '/api/v1/projects', { name: 'team' }, undefined],
      ],
    );
  });

  test('robots: the secret comes back from create; a $ in the name survives the query string', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => json(201, { ...ROBOT, secret: 's3cr3t' });
    const created = await c.createRobot({ project: 'team', name: 'ci', actions: ['pull', 'push'], expiresInSeconds: 3600, description: 'CI' });
    assert.equal(created.secret, 's3cr3t');
    assert.equal(created.name, 'robot$team+ci');
    reply = () => json(200, { robots: [ROBOT] });
    await c.listRobots();
    await c.listRobots({ project: 'team' });
    reply = () => json(200, { ...ROBOT, disabled: true });
    await c.setRobotDisabled('robot$team+ci', true);
    reply = () => ({ status: 204 });
    await c.deleteRobot('robot$team+ci');
    assert.deepEqual(
      seen.map((x) => [x.method, x.path, x.query, x.body === '' ? undefined : JSON.parse(x.body)]),
      [
        ['POST', '/api/v1/robots', {}, { project: 'team', name: 'ci', actions: ['pull', 'push'], expiresInSeconds: 3600, description: 'CI' }],
        ['GET', '/api/v1/robots', {}, undefined],
        ['GET', '/api/v1/robots', { project: 'team' }, undefined],
        ['PUT', '/api/v1/robots', { name: 'robot$team+ci' }, { disabled: true }],
        ['DELETE', '/api/v1/robots', { name: 'robot$team+ci' }, undefined],
      ],
    );
  });

  test('audit pages: since, project and before travel in the query', async () => {
    reply = () => json(200, { entries: [], next: null });
    const c = new ManagementClient({ server: base });
    await c.audit({ limit: 2, since: '2026-11-27T09:00:00.000Z', project: 'team', before: 17 });
    assert.deepEqual(only().query, { limit: '2', since: '2026-11-27T09:00:00.000Z', project: 'team', before: '17' });
  });

  test('401, 403 and 429 keep their codes; Retry-After is read in seconds or as a date', async () => {
    const c = new ManagementClient({ server: base });
    reply = () => ({ ...json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }), headers: { 'WWW-Authenticate': 'Bearer realm="x"' } });
    await assert.rejects(c.listUsers(), (e: unknown) => e instanceof ManagementApiError && e.code === 'UNAUTHORIZED' && e.status === 401);
    reply = () => json(403, { errors: [{ code: 'DENIED', message: 'only system admins may use the management API' }] });
    await assert.rejects(c.listUsers(), (e: unknown) => e instanceof ManagementApiError && e.code === 'DENIED' && e.status === 403);
    reply = () => ({ ...json(429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'too many failed logins' }] }), headers: { 'Retry-After': '120' } });
    await assert.rejects(c.listUsers(), (e: unknown) => e instanceof ManagementApiError && e.code === 'TOOMANYREQUESTS' && e.retryAfterSeconds === 120);
    reply = () => ({ status: 429, body: 'slow down', contentType: 'text/plain' });
    await assert.rejects(c.listUsers(), (e: unknown) => e instanceof ManagementApiError && e.code === 'TOOMANYREQUESTS');
    // RFC 9110 section 10.2.3: delay-seconds or an HTTP-date (its example date, 120 s after "now").
    assert.equal(retryAfter('Fri, 31 Dec 1999 23:59:59 GMT', Date.UTC(1999, 11, 31, 23, 57, 59)), 120);
    assert.equal(retryAfter(null), undefined);
    assert.equal(retryAfter('soon'), undefined);
  });
});
