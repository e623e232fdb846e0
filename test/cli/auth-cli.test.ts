/**
 * berth login/logout and the access-control commands (user, project, robot, audit) as a user runs
 * them: the compiled CLI as a child process against the built server with auth.enabled, and
 * DOCKER_CONFIG pointing at a temporary directory. The Docker config file is read back here with
 * JSON.parse and base64 of our own, independently of the CLI's reader.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BERTH_BIN, startServer, type TestServer } from '../helpers/server.js';
import { imageBlobs, makeLayoutImage, writeLayout } from '../helpers/oci-layout.js';
import { onPath, runCommand } from '../helpers/e2e-process.js';

const SKOPEO = onPath('skopeo');

const ADMIN_PASSWORD = randomBytes(12).toString('base64url');
const ALICE_PASSWORD = randomBytes(12).toString('base64url');

let server: TestServer;
let tmp: string;
let dockerDir: string;
let configFile: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-auth-cli-'));
  dockerDir = join(tmp, 'docker'); // not created: login must create it
  configFile = join(dockerDir, 'config.json');
  server = await startServer({
    env: {
      BERTH_AUTH_ENABLED: 'true',
      BERTH_AUTH_ADMIN_USERNAME: 'admin',
      BERTH_AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      BERTH_GC_SCHEDULE: '',
      BERTH_LIFECYCLE_SCHEDULE: '',
    },
  });
});
after(async () => {
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** The CLI with DOCKER_CONFIG at the temp dir and none of the developer's BERTH_* credentials. */
function berth(args: string[], opts: { input?: string; dockerConfig?: string } = {}) {
  const { BERTH_SERVER: _s, BERTH_USERNAME: _u, BERTH_PASSWORD: _p, DOCKER_CONFIG: _d, ...inherited } = process.env;
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    input: opts.input ?? '',
    env: { ...inherited, DOCKER_CONFIG: opts.dockerConfig ?? dockerDir },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(args: string[], opts: { input?: string; dockerConfig?: string } = {}) {
  const r = berth(args, opts);
  assert.equal(r.code, 0, `berth ${args.join(' ')}:\n${r.err}`);
  return r;
}

function json<T>(args: string[], opts: { input?: string } = {}): T {
  return JSON.parse(ok([...args, '--format', 'json'], opts).out) as T;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
const readConfig = async () => JSON.parse(await readFile(configFile, 'utf8')) as { auths?: Record<string, { auth?: string }> } & Record<string, unknown>;

describe('berth login and the access-control commands', () => {
  const s = () => ['--server', server.url];

  test('before login a management command says how to log in (UNAUTHORIZED, exit 1)', () => {
    const r = berth(['user', 'list', ...s()]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.ok(r.err.startsWith(`berth: UNAUTHORIZED: not logged in to ${server.host}: run berth login ${server.host}\n`), r.err);
    assert.match(r.err, /or pass --username\/--password/);
  });

  test('a wrong password fails with exit code 1 and UNAUTHORIZED, and writes nothing', async () => {
    const r = berth(['login', server.host, '--username', 'admin', '--password-stdin'], { input: 'not-the-password\n' });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^berth: UNAUTHORIZED: /m);
    assert.doesNotMatch(r.out, /Login Succeeded/);
    await assert.rejects(stat(dockerDir), { code: 'ENOENT' }, 'no directory, no file');
  });

  test('login checks the password and writes auths[HOST] to $DOCKER_CONFIG/config.json (dir 0700, file 0600)', async () => {
    const r = ok(['login', server.host, '--username', 'admin', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
    assert.match(r.out, /Login Succeeded/);
    assert.deepEqual(await readConfig(), { auths: { [server.host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } });
    assert.equal((await stat(dockerDir)).mode & 0o777, 0o700);
    assert.equal((await stat(configFile)).mode & 0o777, 0o600);
  });

  test('management commands use the stored credentials, by URL or by bare HOST:PORT', () => {
    const users = json<{ users: Array<{ name: string; systemAdmin: boolean }> }>(['user', 'list', ...s()]);
    assert.deepEqual(users.users.map((u) => [u.name, u.systemAdmin]), [['admin', true]]);
    assert.match(ok(['user', 'list', '--server', server.host]).out, /^admin\s+yes\s+active\s/m);
  });

  test('user add (password from stdin) and list', () => {
    const created = json<{ name: string; systemAdmin: boolean }>(['user', 'add', 'alice', '--password-stdin', ...s()], { input: `${ALICE_PASSWORD}\n` });
    assert.deepEqual([created.name, created.systemAdmin], ['alice', false]);
    const names = json<{ users: Array<{ name: string }> }>(['user', 'list', ...s()]).users.map((u) => u.name).sort();
    assert.deepEqual(names, ['admin', 'alice']);
    const again = berth(['user', 'add', 'alice', '--password-stdin', ...s()], { input: `${ALICE_PASSWORD}\n` });
    assert.equal(again.code, 1);
    assert.match(again.err, /^berth: DENIED: .*already exists/m);
  });

  test('project create, list, member add and list', () => {
    const p = json<{ name: string; public: boolean }>(['project', 'create', 'team', ...s()]);
    assert.deepEqual([p.name, p.public], ['team', false]);
    const listed = json<{ projects: Array<{ name: string; public: boolean }> }>(['project', 'list', ...s()]).projects;
    assert.deepEqual(listed.find((x) => x.name === 'team')?.public, false);
    assert.deepEqual(json(['project', 'member', 'add', 'team', 'alice', '--role', 'developer', ...s()]), { project: 'team', username: 'alice', role: 'developer' });
    assert.deepEqual(json<{ members: unknown[] }>(['project', 'member', 'list', 'team', ...s()]).members, [{ project: 'team', username: 'alice', role: 'developer' }]);
    const badRole = berth(['project', 'member', 'add', 'team', 'alice', '--role', 'owner', ...s()]);
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.err, /--role/);
  });

  test('robot create --format json prints name and secret; the secret authenticates on /v2/ by basic auth', async () => {
    const before = Date.now();
    const robot = json<{ name: string; secret: string; expiresAt: string | null }>(['robot', 'create', '--project', 'team', '--name', 'ci', '--perm', 'pull,push', '--expires', '30d', ...s()]);
    assert.equal(robot.name, 'robot$team+ci');
    assert.equal(typeof robot.secret, 'string');
    assert.ok(robot.secret.length >= 16, 'a secret worth the name');
    const expires = Date.parse(robot.expiresAt ?? '');
    const days30 = 30 * 86_400_000;
    assert.ok(expires >= before + days30 - 5_000 && expires <= Date.now() + days30 + 5_000, `expiresAt ${robot.expiresAt}`);

    const tags = `${server.url}/v2/team/x/tags/list`;
    const anonymous = await fetch(tags);
    assert.equal(anonymous.status, 401, 'team is private: the request below proves something');
    await anonymous.body?.cancel();
    const r = await fetch(tags, { headers: { Authorization: basic(robot.name, robot.secret) } });
    const body = (await r.json()) as { errors?: Array<{ code: string }> };
    assert.ok(r.status === 200 || (r.status === 404 && body.errors?.[0]?.code === 'NAME_UNKNOWN'), `status ${r.status}: ${JSON.stringify(body)}`);

    const listed = json<{ robots: Array<{ name: string; actions: string[]; disabled: boolean }> }>(['robot', 'list', '--project', 'team', ...s()]).robots;
    assert.deepEqual(listed.map((x) => [x.name, [...x.actions].sort(), x.disabled]), [['robot$team+ci', ['pull', 'push'], false]]);
    assert.ok(!JSON.stringify(listed).includes(robot.secret), 'the secret is never shown again');

    // Disabled, the same secret is refused; enabled (short name, no $ to quote), accepted again.
    ok(['robot', 'disable', 'robot$team+ci', ...s()]);
    const refused = await fetch(tags, { headers: { Authorization: basic(robot.name, robot.secret) } });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    ok(['robot', 'enable', 'team+ci', ...s()]);
    const back = await fetch(tags, { headers: { Authorization: basic(robot.name, robot.secret) } });
    assert.notEqual(back.status, 401);
    await back.body?.cancel();
  });

  test('skopeo pushes with the file berth login wrote for a robot (--authfile)', { skip: SKOPEO ? false : 'skopeo is not on PATH (apt-get install skopeo)' }, async () => {
    const robot = json<{ name: string; secret: string }>(['robot', 'create', '--project', 'team', '--name', 'pusher', '--perm', 'pull,push', ...s()]);
    const robotConfig = join(tmp, 'robot-docker');
    ok(['login', server.host, '--username', robot.name, '--password-stdin'], { input: `${robot.secret}\n`, dockerConfig: robotConfig });
    const authfile = join(robotConfig, 'config.json');
    assert.deepEqual(JSON.parse(await readFile(authfile, 'utf8')), { auths: { [server.host]: { auth: Buffer.from(`${robot.name}:${robot.secret}`).toString('base64') } } });

    const img = makeLayoutImage({ seed: 41 });
    const layout = join(tmp, 'layout');
    await writeLayout(layout, [{ tag: 'v1', descriptor: img.descriptor }], imageBlobs(img));
    // --insecure-policy: the test must not depend on the host's /etc/containers/policy.json.
    const r = await runCommand(SKOPEO!, ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--authfile', authfile, `oci:${layout}:v1`, `docker://${server.host}/team/app:v1`], 60_000);
    assert.equal(r.code, 0, r.describe());
    const head = await fetch(`${server.url}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: basic('admin', ADMIN_PASSWORD), Accept: img.descriptor.mediaType } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), img.manifest.digest);
  });

  test('a user without system admin gets DENIED with advice; wrong --password gets UNAUTHORIZED naming the user', () => {
    const denied = berth(['user', 'list', ...s(), '--username', 'alice', '--password', ALICE_PASSWORD]);
    assert.equal(denied.code, 1);
    assert.match(denied.err, /^berth: DENIED: /m);
    assert.match(denied.err, /lacks the rights for this: ask a system admin/);
    const wrong = berth(['user', 'list', ...s(), '--username', 'admin', '--password', 'nope-nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /^berth: UNAUTHORIZED: .*refused the credentials of admin from --username\/--password/m);
  });

  test('audit --since 1h lists the logins with outcome; --all pages through with --limit 1', () => {
    const log = json<{ entries: Array<{ action: string; actor: string; outcome?: string; at: string }>; next?: unknown }>(['audit', '--since', '1h', ...s()]);
    assert.ok(log.entries.some((e) => e.action === 'login' && e.actor === 'admin' && e.outcome === 'ok'), JSON.stringify(log.entries.slice(0, 5)));
    assert.ok(log.entries.some((e) => e.action === 'login' && e.outcome === 'failed'), 'the wrong password was recorded');
    const since = Date.now() - 3_600_000 - 60_000;
    assert.ok(log.entries.every((e) => Date.parse(e.at) >= since), 'nothing older than --since');
    const one = json<{ entries: unknown[]; next: unknown }>(['audit', '--limit', '1', ...s()]);
    assert.equal(one.entries.length, 1);
    assert.notEqual(one.next, null, 'more than one entry exists, so there is a next page');
    const all = json<{ entries: Array<{ id: unknown }> }>(['audit', '--limit', '1', '--all', '--since', '1h', ...s()]);
    assert.ok(all.entries.length >= 3, `--all followed next: ${all.entries.length}`);
    assert.equal(new Set(all.entries.map((e) => String(e.id))).size, all.entries.length, 'no entry twice');
    const bad = berth(['audit', '--since', 'yesterday', ...s()]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--since/);
  });

  test('project set, member remove, user delete, project delete', () => {
    assert.equal(json<{ public: boolean }>(['project', 'set', 'team', '--public', ...s()]).public, true);
    assert.equal(json<{ public: boolean }>(['project', 'set', 'team', '--private', ...s()]).public, false);
    assert.match(berth(['project', 'set', 'team', ...s()]).err, /--public or --private/);
    ok(['project', 'member', 'remove', 'team', 'alice', ...s()]);
    assert.deepEqual(json<{ members: unknown[] }>(['project', 'member', 'list', 'team', ...s()]).members, []);
    ok(['robot', 'delete', 'team+ci', ...s()]);
    ok(['user', 'delete', 'alice', ...s()]);
    const gone = berth(['user', 'delete', 'alice', ...s()]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /^berth: NOT_FOUND: /m);
    ok(['project', 'delete', 'team', ...s()]);
  });

  test('logout removes only its entry and keeps the other keys of the file', async () => {
    const current = await readConfig();
    await writeFile(configFile, JSON.stringify({ ...current, psFormat: 'table {{.ID}}', auths: { ...current.auths, 'other.example.com': { auth: 'eDp5' } } }));
    assert.match(ok(['logout', server.host]).out, new RegExp(`Removed login credentials for ${server.host.replace(/\./g, '\\.')}`));
    assert.deepEqual(await readConfig(), { psFormat: 'table {{.ID}}', auths: { 'other.example.com': { auth: 'eDp5' } } });
    assert.match(ok(['logout', server.host]).out, /Not logged in/);
    assert.match(berth(['user', 'list', ...s()]).err, /not logged in to/);
  });

  test('repeated failed logins: TOOMANYREQUESTS with advice to wait', async () => {
    // The server allows 10 failures per user within its window (src/auth/login-limiter.ts).
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${server.url}/token?service=berth`, { headers: { Authorization: basic('mallory', `guess-${i}`) } });
      assert.equal(r.status, 401, `guess ${i}`);
      await r.body?.cancel();
    }
    const r = berth(['login', server.host, '--username', 'mallory', '--password-stdin'], { input: 'one-more-guess\n' });
    assert.equal(r.code, 1);
    assert.match(r.err, /^berth: TOOMANYREQUESTS: /m);
    assert.match(r.err, /too many failed logins: wait \d+ s and retry/);
    assert.equal((await readConfig()).auths?.[server.host], undefined, 'nothing stored');
  });

  test('a Docker config file that is not JSON is refused before any login attempt and left as it was', async () => {
    // The server writes audit entries in batches once a second (src/main.ts): wait for a flush before each count.
    const logins = async () => {
      await sleep(1500);
      const res = await fetch(`${server.url}/api/v1/audit?limit=1000`, { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { entries: Array<{ action: string }> }).entries.filter((e) => e.action === 'login').length;
    };
    const before = await logins();
    const text = '{"auths": {"other.example.com": {"auth": "eDp5"}},';
    await mkdir(dockerDir, { recursive: true });
    await writeFile(configFile, text);
    const r = berth(['login', server.host, '--username', 'admin', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(`berth: ${configFile}: not valid JSON`), r.err);
    assert.doesNotMatch(r.out, /Login Succeeded/);
    assert.equal(await readFile(configFile, 'utf8'), text);
    assert.equal(await logins(), before, 'the server saw no login');
  });
});
