import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { makeImage, type Image } from '../helpers/oci.js';
import { sleep } from '../helpers/e2e-process.js';
import {
  accessClaims,
  asAdmin,
  basic,
  bearer,
  createProject,
  createRobot,
  createUser,
  decodeJwt,
  expectError,
  expectStatus,
  getToken,
  hs256WithPublicKey,
  http,
  manifestDigestOf,
  members,
  mustToken,
  parseBearerChallenge,
  pushBlobAs,
  pushImageAs,
  putManifestAs,
  qs,
  serverSigningKey,
  setMember,
  signEs256,
  startAuthServer,
  tagsOf,
  unsecuredJwt,
  waitForAudit,
  auditAll,
  type AuditEntry,
  type AuthServer,
  type CreatedRobot,
  type Creds,
  type HttpResult,
} from '../helpers/auth.js';

/**
 * Access control refuses what it must, with the status and code clients understand (Docker token
 * spec https://distribution.github.io/distribution/spec/auth/token/; distribution-spec error codes
 * UNAUTHORIZED 401, DENIED 403, NAME_INVALID 400, TOOMANYREQUESTS 429), and every refusal leaves the
 * registry as it was. The last case reads all of it back from the audit log.
 *
 * Tokens are forged here by hand (node:crypto), with the server's real signing key read from its
 * database for the cases where only one claim is wrong, so a refusal can only come from that claim.
 */

const MT = 'application/vnd.oci.image.manifest.v1+json';
const APP = 'team/app';

/** The image's config and layers, under a manifest that differs only by an annotation. */
const variant = (img: Image, note: string): Image => makeImage({ layers: img.layers, annotations: { note } });

/** A 401 that carries the challenge clients need to get a token. */
function expectChallenge(r: HttpResult, as: AuthServer, what: string): void {
  expectError(r, 401, 'UNAUTHORIZED', what);
  const c = parseBearerChallenge(r.headers.get('www-authenticate'));
  assert.equal(c?.realm, `${as.url}/token`, `${what}: challenge ${r.headers.get('www-authenticate')}`);
  assert.equal(c?.service, 'berth');
}

const formPost = (as: AuthServer, fields: Record<string, string>) =>
  http<{ token?: string; refresh_token?: string }>(as.url, 'POST', '/token', {
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });

describe('access control refuses, and nothing changes', () => {
  let as: AuthServer;
  let dev: Creds;
  let guest: Creds;
  let victim: Creds;
  let ci: CreatedRobot;
  let gone: CreatedRobot;
  let off: CreatedRobot;
  let key: KeyObject;
  let kid: string;
  let casesStart: number;
  const app = makeImage({ seed: 41 });
  const lib = makeImage({ seed: 42 });
  const secret = makeImage({ seed: 43 });
  const base = makeImage({ seed: 44 });

  /** Tags and the digest of `ref`, as the admin sees them: what "nothing changed" compares. */
  const state = async (repo: string, ref = 'v1') => ({ tags: await tagsOf(as, repo), digest: await manifestDigestOf(as, repo, ref) });

  before(async () => {
    as = await startAuthServer();
    await createProject(as, 'team', false);
    await createProject(as, 'other', false);
    await createProject(as, 'pub', true);
    dev = await createUser(as, 'dev');
    guest = await createUser(as, 'guest');
    victim = await createUser(as, 'victim');
    await setMember(as, 'team', 'dev', 'developer');
    await setMember(as, 'team', 'guest', 'guest');
    await setMember(as, 'team', 'victim', 'developer');
    ci = await createRobot(as, { project: 'team', name: 'ci', actions: ['pull', 'push'] });
    gone = await createRobot(as, { project: 'team', name: 'gone', actions: ['pull'], expiresInSeconds: 1 });
    off = await createRobot(as, { project: 'team', name: 'off', actions: ['pull'] });
    const admin = basic(as.admin);
    await pushImageAs(as.url, APP, 'v1', app, admin);
    await pushImageAs(as.url, 'team/lib', 'v1', lib, admin);
    await pushImageAs(as.url, 'other/secret', 'v1', secret, admin);
    await pushImageAs(as.url, 'pub/base', 'v1', base, admin);
    key = await serverSigningKey(as.server);
    kid = String(decodeJwt(await mustToken(as.url, [`repository:${APP}:pull`], dev)).header.kid);
    await sleep(20);
    casesStart = Date.now();
  });

  after(async () => {
    await as?.server.stop();
  });

  test('wrong password: 401 UNAUTHORIZED on /v2/ (basic), GET /token and POST /token; nothing pushed', async () => {
    const was = await state(APP);
    const wrong = { username: 'dev', password: `${dev.password}x` };
    expectChallenge(await http(as.url, 'GET', '/v2/', { auth: basic(wrong) }), as, 'GET /v2/ with a wrong password');
    expectError((await getToken(as.url, [`repository:${APP}:pull`], wrong)).result, 401, 'UNAUTHORIZED', 'GET /token with a wrong password');
    const post = await formPost(as, { grant_type: 'password', username: 'dev', password: wrong.password, service: 'berth', scope: `repository:${APP}:pull,push` });
    expectError(post, 401, 'UNAUTHORIZED', 'POST /token password grant with a wrong password');
    assert.equal(post.json?.token, undefined);
    expectChallenge(await putManifestAs(as.url, APP, 'v1', variant(app, 'wrong-password').manifest, basic(wrong)), as, 'PUT manifest with a wrong password');
    expectError((await getToken(as.url, [`repository:${APP}:pull`], { username: 'nobody', password: 'whatever-1' })).result, 401, 'UNAUTHORIZED', 'unknown user');
    assert.deepEqual(await state(APP), was);
    expectStatus(await http(as.url, 'GET', '/v2/', { auth: basic(dev) }), 200, 'control: the right password');
  });

  test('control: a token signed with the server key and the right claims is accepted', async () => {
    const forged = signEs256({ typ: 'JWT', kid }, accessClaims('dev', [{ type: 'repository', name: APP, actions: ['pull'] }]), key);
    const r = await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: bearer(forged), headers: { Accept: MT } });
    expectStatus(r, 200, 'a well-formed token from the real key');
    assert.ok(r.bytes.equals(app.manifest.bytes));
  });

  test('forged tokens are 401 UNAUTHORIZED: another key, alg none, HS256 with the public key, expired, wrong aud or iss, a refresh token', async () => {
    const was = await state(APP);
    const push = [{ type: 'repository', name: APP, actions: ['pull', 'push', 'delete'] }];
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const refresh = (await formPost(as, { grant_type: 'password', username: 'dev', password: dev.password, service: 'berth', access_type: 'offline' })).json?.refresh_token;
    assert.equal(typeof refresh, 'string', 'control: a refresh token is issued');
    const cases: [string, string][] = [
      ['signed by another P-256 key', signEs256({ typ: 'JWT', kid }, accessClaims('dev', push), otherKey)],
      ['alg none', unsecuredJwt({ typ: 'JWT', kid }, accessClaims('dev', push))],
      ['HS256 keyed with the public key', hs256WithPublicKey({ typ: 'JWT', kid }, accessClaims('dev', push), key)],
      ['expired an hour ago', signEs256({ typ: 'JWT', kid }, accessClaims('dev', push, { now: now - 7200, ttl: 3600 }), key)],
      ['wrong audience', signEs256({ typ: 'JWT', kid }, accessClaims('dev', push, { aud: 'other-registry' }), key)],
      ['wrong issuer', signEs256({ typ: 'JWT', kid }, accessClaims('dev', push, { iss: 'someone-else' }), key)],
      ['a refresh token', refresh!],
    ];
    for (const [what, token] of cases) {
      expectChallenge(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: bearer(token) }), as, `GET with a token ${what}`);
      expectChallenge(await putManifestAs(as.url, APP, 'v1', variant(app, what).manifest, bearer(token)), as, `PUT with a token ${what}`);
      expectChallenge(await http(as.url, 'DELETE', `/v2/${APP}/manifests/v1`, { auth: bearer(token) }), as, `DELETE with a token ${what}`);
    }
    assert.deepEqual(await state(APP), was);
  });

  test('a token for one repository used on another: 403 DENIED with an insufficient_scope challenge', async () => {
    const was = await state('team/lib');
    const token = await mustToken(as.url, [`repository:${APP}:pull,push`], dev);
    assert.deepEqual(decodeJwt(token).payload.access, [{ type: 'repository', name: APP, actions: ['pull', 'push'] }]);
    expectStatus(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: bearer(token) }), 200, 'control: the repository the token is for');
    const get = expectError(await http(as.url, 'GET', '/v2/team/lib/manifests/v1', { auth: bearer(token) }), 403, 'DENIED', 'GET on team/lib');
    assert.deepEqual(parseBearerChallenge(get.headers.get('www-authenticate')), {
      realm: `${as.url}/token`,
      service: 'berth',
      scope: 'repository:team/lib:pull',
      error: 'insufficient_scope',
    });
    const put = expectError(await putManifestAs(as.url, 'team/lib', 'v1', variant(lib, 'a-to-b').manifest, bearer(token)), 403, 'DENIED', 'PUT on team/lib');
    assert.equal(parseBearerChallenge(put.headers.get('www-authenticate'))?.error, 'insufficient_scope');
    assert.deepEqual(await state('team/lib'), was);
  });

  test('scope escalation: a guest asking for push gets a token with pull only, and pushing with it is 403 DENIED', async () => {
    const was = await state(APP);
    for (const asked of ['pull,push', 'push,pull,delete', '*']) {
      const token = await mustToken(as.url, [`repository:${APP}:${asked}`], guest);
      assert.deepEqual(decodeJwt(token).payload.access, [{ type: 'repository', name: APP, actions: ['pull'] }], `asked ${asked}`);
    }
    const token = await mustToken(as.url, [`repository:${APP}:pull,push`], guest);
    expectStatus(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: bearer(token) }), 200, 'control: the guest pulls');
    const forged = variant(app, 'escalated');
    expectError(await pushBlobAs(as.url, APP, forged.config, bearer(token)), 403, 'DENIED', 'guest blob upload with the token');
    expectError(await putManifestAs(as.url, APP, 'v1', forged.manifest, bearer(token)), 403, 'DENIED', 'guest PUT v1 with the token');
    expectError(await putManifestAs(as.url, APP, 'v9', forged.manifest, bearer(token)), 403, 'DENIED', 'guest PUT v9 with the token');
    expectError(await putManifestAs(as.url, APP, 'v1', forged.manifest, basic(guest)), 403, 'DENIED', 'guest PUT with basic');
    expectError(await http(as.url, 'DELETE', `/v2/${APP}/manifests/${app.manifest.digest}`, { auth: basic(guest) }), 403, 'DENIED', 'guest DELETE');
    assert.deepEqual(await state(APP), was);
  });

  test('a robot outside its project: no grant at /token, 403 DENIED on /v2/', async () => {
    const was = await state('other/secret');
    expectStatus(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: basic(ci) }), 200, 'control: the robot pulls in its project');
    await pushImageAs(as.url, APP, 'robot', variant(app, 'robot'), basic(ci)); // control, and a push for the audit log
    const token = await mustToken(as.url, ['repository:other/secret:pull,push'], ci);
    assert.deepEqual(decodeJwt(token).payload.access, [{ type: 'repository', name: 'other/secret', actions: [] }]);
    expectError(await http(as.url, 'GET', '/v2/other/secret/manifests/v1', { auth: bearer(token) }), 403, 'DENIED', 'robot token on other/');
    expectError(await http(as.url, 'GET', '/v2/other/secret/manifests/v1', { auth: basic(ci) }), 403, 'DENIED', 'robot basic GET on other/');
    expectError(await pushBlobAs(as.url, 'other/secret', secret.config, basic(ci)), 403, 'DENIED', 'robot blob upload on other/');
    expectError(await putManifestAs(as.url, 'other/secret', 'v1', variant(secret, 'robot').manifest, basic(ci)), 403, 'DENIED', 'robot PUT on other/');
    assert.deepEqual(await state('other/secret'), was);
  });

  test('a robot past its expiry: 401 UNAUTHORIZED at /token and on /v2/', async () => {
    assert.equal(Date.parse(gone.expiresAt!) - Date.parse(gone.createdAt), 1000, 'expiresInSeconds: 1');
    for (let i = 0; i < 50 && Date.now() < Date.parse(gone.expiresAt!) + 1000; i++) await sleep(100);
    assert.ok(Date.now() >= Date.parse(gone.expiresAt!) + 1000, 'waited past the expiry');
    const was = await state(APP);
    expectError((await getToken(as.url, [`repository:${APP}:pull`], gone)).result, 401, 'UNAUTHORIZED', 'expired robot at /token');
    expectChallenge(await http(as.url, 'GET', '/v2/', { auth: basic(gone) }), as, 'expired robot on /v2/');
    expectChallenge(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: basic(gone) }), as, 'expired robot GET manifest');
    expectChallenge(await http(as.url, 'GET', '/v2/pub/base/manifests/v1', { auth: basic(gone) }), as, 'expired robot on a public project');
    assert.deepEqual(await state(APP), was);
  });

  test('a disabled robot: 401 UNAUTHORIZED at /token and on /v2/', async () => {
    const t = await mustToken(as.url, [`repository:${APP}:pull`], off);
    assert.deepEqual(decodeJwt(t).payload.access, [{ type: 'repository', name: APP, actions: ['pull'] }], 'control: the robot works before');
    const r = expectStatus(await asAdmin<{ disabled: boolean }>(as, 'PUT', `/api/v1/robots${qs({ name: off.username })}`, { disabled: true }), 200, 'disable');
    assert.equal(r.json?.disabled, true);
    expectError((await getToken(as.url, [`repository:${APP}:pull`], off)).result, 401, 'UNAUTHORIZED', 'disabled robot at /token');
    expectChallenge(await http(as.url, 'GET', `/v2/${APP}/manifests/v1`, { auth: basic(off) }), as, 'disabled robot on /v2/');
  });

  test('the catalog shows public projects and the caller\'s own, never other private ones', async () => {
    const all = ['other/secret', 'pub/base', 'team/app', 'team/lib'];
    const catalog = async (auth?: string) => {
      const r = expectStatus(await http<{ repositories: string[] }>(as.url, 'GET', '/v2/_catalog', auth ? { auth } : {}), 200, `catalog ${auth ?? 'anonymous'}`);
      return r.json!.repositories;
    };
    assert.deepEqual(await catalog(basic(as.admin)), all, 'control: the admin sees everything');
    const devToken = await mustToken(as.url, ['registry:catalog:*'], dev);
    assert.deepEqual(decodeJwt(devToken).payload.access, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    assert.deepEqual(await catalog(bearer(devToken)), ['pub/base', 'team/app', 'team/lib'], 'dev with a catalog token');
    assert.deepEqual(await catalog(basic(dev)), ['pub/base', 'team/app', 'team/lib'], 'dev with basic credentials');
    assert.deepEqual(await catalog(bearer(await mustToken(as.url, ['registry:catalog:*']))), ['pub/base'], 'anonymous token');
    assert.deepEqual(await catalog(bearer(await mustToken(as.url, ['registry:catalog:*'], ci))), ['pub/base', 'team/app', 'team/lib'], 'team robot');
    expectError(await http(as.url, 'GET', '/v2/other/secret/tags/list', { auth: basic(dev) }), 403, 'DENIED', 'dev lists tags of other/secret');
    // Without credentials the catalog challenges for registry:catalog:*; a token without it is refused.
    const anon = await http(as.url, 'GET', '/v2/_catalog');
    expectChallenge(anon, as, 'anonymous catalog');
    assert.equal(parseBearerChallenge(anon.headers.get('www-authenticate'))?.scope, 'registry:catalog:*');
    const repoOnly = await http(as.url, 'GET', '/v2/_catalog', { auth: bearer(await mustToken(as.url, [`repository:${APP}:pull`], dev)) });
    expectError(repoOnly, 403, 'DENIED', 'catalog with a repository-only token');
    assert.equal(parseBearerChallenge(repoOnly.headers.get('www-authenticate'))?.error, 'insufficient_scope');
  });

  test('path tricks in scopes: 400 NAME_INVALID at /token, no project appears', async () => {
    const projects = async () => expectStatus(await asAdmin<{ projects: { name: string }[] }>(as, 'GET', '/api/v1/projects'), 200, 'projects').json!.projects.map((p) => p.name).sort();
    const before = await projects();
    const was = await state('other/secret');
    for (const scope of ['repository:team/../other:push', 'repository:TEAM/x:pull', 'repository:team//x:pull', 'repository:team/./secret:pull', 'repository:/other/secret:pull']) {
      expectError((await getToken(as.url, [scope], dev)).result, 400, 'NAME_INVALID', `GET /token ${scope} as dev`);
      expectError((await getToken(as.url, [scope])).result, 400, 'NAME_INVALID', `GET /token ${scope} anonymously`);
      const post = await formPost(as, { grant_type: 'password', username: 'dev', password: dev.password, service: 'berth', scope });
      expectError(post, 400, 'NAME_INVALID', `POST /token ${scope}`);
    }
    assert.deepEqual(await projects(), before);
    assert.deepEqual(await state('other/secret'), was);
  });

  test('the management API: anonymous 401 UNAUTHORIZED, non-admins 403 DENIED, and nothing changes', async () => {
    const users = async () => expectStatus(await asAdmin<{ users: { name: string; systemAdmin: boolean }[] }>(as, 'GET', '/api/v1/users'), 200, 'users').json!.users;
    const usersBefore = await users();
    const membersBefore = await members(as, 'team');
    const mallory = { name: 'mallory', password: 'mallory-password', systemAdmin: true };
    expectChallenge(await http(as.url, 'GET', '/api/v1/users'), as, 'anonymous GET users');
    expectChallenge(await http(as.url, 'POST', '/api/v1/users', { body: mallory }), as, 'anonymous POST users');
    const devToken = await mustToken(as.url, [`repository:${APP}:pull`], dev);
    for (const [who, auth] of [['dev basic', basic(dev)], ['guest basic', basic(guest)], ['dev token', bearer(devToken)], ['robot', basic(ci)]] as const) {
      expectError(await http(as.url, 'GET', '/api/v1/users', { auth }), 403, 'DENIED', `${who} GET users`);
      expectError(await http(as.url, 'POST', '/api/v1/users', { auth, body: mallory }), 403, 'DENIED', `${who} POST users`);
      expectError(await http(as.url, 'PUT', `/api/v1/members${qs({ project: 'team' })}`, { auth, body: { username: 'dev', role: 'admin' } }), 403, 'DENIED', `${who} PUT members`);
      expectError(await http(as.url, 'PUT', `/api/v1/users${qs({ name: 'dev' })}`, { auth, body: { systemAdmin: true } }), 403, 'DENIED', `${who} PUT users`);
      expectError(await http(as.url, 'GET', '/api/v1/audit', { auth }), 403, 'DENIED', `${who} GET audit`);
    }
    assert.deepEqual(await users(), usersBefore);
    assert.deepEqual(await members(as, 'team'), membersBefore);
  });

  test('brute force: after 10 wrong passwords the 11th attempt is 429 TOOMANYREQUESTS with Retry-After, even with the right password', async () => {
    const wrong = { username: 'victim', password: 'not-the-password' };
    for (let i = 1; i <= 10; i++) {
      expectError((await getToken(as.url, [`repository:${APP}:pull`], wrong)).result, 401, 'UNAUTHORIZED', `wrong password #${i}`);
    }
    const retryAfter = (r: HttpResult, what: string) => {
      const v = r.headers.get('retry-after');
      assert.match(v ?? '', /^[1-9][0-9]*$/, `${what}: Retry-After ${v}`);
      assert.ok(Number(v) <= 300, `${what}: Retry-After ${v} beyond the 5-minute window`);
    };
    const eleventh = expectError((await getToken(as.url, [`repository:${APP}:pull`], wrong)).result, 429, 'TOOMANYREQUESTS', 'wrong password #11');
    retryAfter(eleventh, '#11');
    const right = expectError((await getToken(as.url, [`repository:${APP}:pull`], victim)).result, 429, 'TOOMANYREQUESTS', 'right password while limited');
    retryAfter(right, 'right password');
    assert.equal((right.json as { token?: string } | undefined)?.token, undefined);
    const v2 = expectError(await http(as.url, 'GET', '/v2/', { auth: basic(victim) }), 429, 'TOOMANYREQUESTS', '/v2/ basic while limited');
    retryAfter(v2, '/v2/');
    const post = await formPost(as, { grant_type: 'password', username: 'victim', password: victim.password, service: 'berth' });
    expectError(post, 429, 'TOOMANYREQUESTS', 'POST /token while limited');
    expectStatus(await http(as.url, 'GET', '/v2/', { auth: basic(dev) }), 200, 'another user is not limited');
  });

  test('the audit log records the refusals and the successes, with actor, address and outcome', async () => {
    const since = new Date(casesStart).toISOString();
    const like = (es: AuditEntry[], f: Partial<AuditEntry>, pred: (e: AuditEntry) => boolean = () => true) =>
      es.filter((e) => pred(e) && Object.entries(f).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v));
    const local = { address: '127.0.0.1' };
    // Counts follow the requests the cases above made (each refused login, token or access is one entry).
    const want: [string, Partial<AuditEntry>, number, ((e: AuditEntry) => boolean)?][] = [
      ['failed logins of dev', { action: 'login', actor: 'dev', outcome: 'failed', ...local }, 4],
      ['failed login of an unknown user', { action: 'login', actor: 'nobody', outcome: 'failed', ...local }, 1],
      ['failed logins of victim (10 wrong, 4 while limited)', { action: 'login', actor: 'victim', outcome: 'failed', ...local }, 14],
      ['the expired robot', { action: 'login', actor: gone.username, outcome: 'failed', ...local }, 4],
      ['the disabled robot', { action: 'login', actor: off.username, outcome: 'failed', ...local }, 2],
      ['forged tokens (7 tokens, 3 requests each)', { action: 'token.verify', outcome: 'denied', ...local }, 21],
      ['a path trick', { action: 'token.issue', outcome: 'denied', ...local }, 3, (e) => e.target.includes('team/../other')],
      ['the guest\'s reduced grant', { action: 'token.issue', actor: 'guest', outcome: 'ok', target: `repository:${APP}:pull` }, 4],
      ['management denials of dev', { action: 'access', actor: 'dev', outcome: 'denied', target: 'management API', ...local }, 10],
    ];
    const done = (es: AuditEntry[]) => want.every(([, f, n, p]) => like(es, f, p).length >= n);
    const entries = await waitForAudit(as, { since }, done);
    for (const [what, f, n, p] of want) {
      assert.ok(like(entries, f, p).length >= n, `${what}: ${like(entries, f, p).length} entries like ${JSON.stringify(f)}, want ${n}`);
    }
    assert.ok(entries.every((e) => Date.parse(e.at) >= casesStart), 'since= filters by time');

    // Paging: `next` is the `before` of the next page; small pages add up to the whole list.
    const paged = await auditAll(as, { since }, 7);
    assert.ok(paged.pages > 1);
    assert.deepEqual(paged.entries.map((e) => e.id), entries.map((e) => e.id).slice(0, paged.entries.length));
    assert.ok(paged.entries.length >= entries.length);
    for (let i = 1; i < paged.entries.length; i++) assert.ok(paged.entries[i]!.id < paged.entries[i - 1]!.id, 'newest first, no repeats');

    // project=: repository accesses of that project only.
    const team = (await auditAll(as, { project: 'team', since }, 5)).entries;
    assert.ok(team.every((e) => e.project === 'team'), JSON.stringify(team.filter((e) => e.project !== 'team')));
    for (const [what, f] of [
      ['guest push denied', { action: 'access', actor: 'guest', target: APP, outcome: 'denied', ...local }],
      ['dev denied on team/lib', { action: 'access', actor: 'dev', target: 'team/lib', outcome: 'denied', ...local }],
      ['robot push', { action: 'manifest.push', actor: ci.username, target: `${APP}:robot`, outcome: 'ok', ...local }],
      ['robot pull', { action: 'manifest.pull', actor: ci.username, target: `${APP}:v1`, outcome: 'ok', ...local }],
      ['dev pull', { action: 'manifest.pull', actor: 'dev', target: `${APP}:v1`, outcome: 'ok', ...local }],
      ['guest pull', { action: 'manifest.pull', actor: 'guest', target: `${APP}:v1`, outcome: 'ok', ...local }],
    ] as const) {
      assert.ok(like(team, f).length >= 1, `project=team: no ${what}`);
    }
    const other = (await auditAll(as, { project: 'other' })).entries;
    assert.ok(other.every((e) => e.project === 'other'));
    assert.ok(like(other, { action: 'access', actor: ci.username, target: 'other/secret', outcome: 'denied', ...local }).length >= 4, 'robot outside its project');
    assert.ok(like(other, { action: 'manifest.push', actor: 'admin', target: 'other/secret:v1' }).length === 1, 'the setup push, without since=');
    assert.equal(like(entries, { action: 'manifest.push', actor: 'admin' }).length, 0, 'setup pushes predate since=');
  });
});
