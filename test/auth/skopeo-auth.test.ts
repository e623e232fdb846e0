import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../helpers/oci.js';
import { findRef, imageBlobs, makeLayoutImage, readLayout, writeLayout, type LayoutImage } from '../helpers/oci-layout.js';
import { onPath, runCommand, type CommandResult } from '../helpers/e2e-process.js';
import {
  bearer,
  createProject,
  createRobot,
  createUser,
  decodeJwt,
  expectError,
  http,
  manifestDigestOf,
  parseBearerChallenge,
  setMember,
  startAuthServer,
  tagsOf,
  waitForAudit,
  type AuditEntry,
  type AuthServer,
  type Creds,
} from '../helpers/auth.js';

/**
 * A real client against berth with access control on: skopeo (containers/image) authenticates with
 * --dest-creds/--src-creds and with an --authfile in the Docker config format
 * (https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md: `auths` keyed by
 * registry host, `auth` = base64("user:password")), follows the Docker token flow
 * (https://distribution.github.io/distribution/spec/auth/token/), and pulls anonymously from a public
 * project. Digests are computed here with node:crypto from the bytes the layout helper made.
 */

const SKOPEO = onPath('skopeo');
const skip = SKOPEO === undefined ? 'skopeo is not on PATH (Debian/Ubuntu: apt-get install skopeo)' : false;

function skopeo(args: string[]): Promise<CommandResult> {
  // --insecure-policy: the test must not depend on the host's /etc/containers/policy.json.
  return runCommand(SKOPEO!, ['--insecure-policy', ...args], 60_000);
}

function assertOk(r: CommandResult): void {
  assert.equal(r.code, 0, `skopeo failed:\n${r.describe()}`);
}

const credsArg = (c: Creds): string => `${c.username}:${c.password}`;

/** The layout at `dir` names `tag` -> the image's manifest digest and holds exactly its blobs, byte for byte. */
async function assertLayoutHoldsImage(dir: string, tag: string, img: LayoutImage): Promise<void> {
  const layout = await readLayout(dir);
  const ref = findRef(layout, tag);
  assert.ok(ref, `index.json of ${dir} does not name ${tag}: ${JSON.stringify(layout.index)}`);
  assert.equal(ref.digest, img.manifest.digest, 'manifest digest changed on the round trip');
  for (const [digest, bytes] of layout.blobs) assert.equal(sha256(bytes), digest, `blob file ${digest} does not hash to its name`);
  const expected = imageBlobs(img);
  assert.deepEqual([...layout.blobs.keys()].sort(), expected.map((b) => b.digest).sort(), 'the copied-out layout holds other blobs');
  for (const b of expected) assert.ok(layout.blobs.get(b.digest)!.equals(b.bytes), `blob ${b.digest} has different bytes`);
}

interface RequestLine {
  method: string;
  url: string;
  status: number;
}

/** The server's request log lines (pino JSON, msg "request") written after character `from`. */
function requestsSince(as: AuthServer, from: number): RequestLine[] {
  const out: RequestLine[] = [];
  for (const line of as.server.output().slice(from).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as { msg?: string; method?: string; url?: string; status?: number };
      if (rec.msg === 'request' && rec.method && rec.url && rec.status) out.push({ method: rec.method, url: rec.url, status: rec.status });
    } catch {
      /* not JSON */
    }
  }
  return out;
}

const has = (entries: AuditEntry[], f: Partial<AuditEntry>): boolean =>
  entries.some((e) => Object.entries(f).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v));

describe('skopeo with access control', { skip }, () => {
  let as: AuthServer;
  let work: string;
  let robot: Creds;
  let dev: Creds;
  const imgRobot = makeLayoutImage({ seed: 31 });
  const imgDev = makeLayoutImage({ seed: 32 });
  const imgPublic = makeLayoutImage({ seed: 33 });
  let srcRobot: string;
  let srcDev: string;
  let srcPublic: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-skopeo-auth-'));
    srcRobot = join(work, 'src-robot');
    srcDev = join(work, 'src-dev');
    srcPublic = join(work, 'src-public');
    await writeLayout(srcRobot, [{ tag: 'v1', descriptor: imgRobot.descriptor }], imageBlobs(imgRobot));
    await writeLayout(srcDev, [{ tag: 'v2', descriptor: imgDev.descriptor }], imageBlobs(imgDev));
    await writeLayout(srcPublic, [{ tag: 'v1', descriptor: imgPublic.descriptor }], imageBlobs(imgPublic));
    as = await startAuthServer({ BERTH_LOG_LEVEL: 'info' });
    await createProject(as, 'team', false);
    await createProject(as, 'pub', true);
    robot = await createRobot(as, { project: 'team', name: 'ci', actions: ['pull', 'push'] });
    dev = await createUser(as, 'dev');
    await setMember(as, 'team', 'dev', 'developer');
  });

  after(async () => {
    await as?.server.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a robot pushes with --dest-creds and pulls back with --src-creds; digests survive', async () => {
    assertOk(await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', credsArg(robot), `oci:${srcRobot}:v1`, `docker://${as.server.host}/team/app:v1`]));
    assert.equal(await manifestDigestOf(as, 'team/app', 'v1'), imgRobot.manifest.digest, 'berth serves another manifest than the layout holds');
    const out = join(work, 'out-robot');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', '--src-creds', credsArg(robot), `docker://${as.server.host}/team/app:v1`, `oci:${out}:v1`]));
    await assertLayoutHoldsImage(out, 'v1', imgRobot);
  });

  test('a developer pushes and pulls with --authfile (Docker config format)', async () => {
    const authfile = join(work, 'auth.json');
    const auth = Buffer.from(credsArg(dev)).toString('base64');
    await writeFile(authfile, JSON.stringify({ auths: { [as.server.host]: { auth } } }));
    assertOk(await skopeo(['copy', '--dest-tls-verify=false', '--authfile', authfile, `oci:${srcDev}:v2`, `docker://${as.server.host}/team/app:v2`]));
    assert.equal(await manifestDigestOf(as, 'team/app', 'v2'), imgDev.manifest.digest);
    const out = join(work, 'out-dev');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', '--authfile', authfile, `docker://${as.server.host}/team/app:v2`, `oci:${out}:v2`]));
    await assertLayoutHoldsImage(out, 'v2', imgDev);

    // The file is really what authenticates: the same push with a wrong password in it fails and changes nothing.
    const badfile = join(work, 'bad-auth.json');
    await writeFile(badfile, JSON.stringify({ auths: { [as.server.host]: { auth: Buffer.from(`dev:wrong-${dev.password}`).toString('base64') } } }));
    const bad = await skopeo(['copy', '--dest-tls-verify=false', '--authfile', badfile, `oci:${srcRobot}:v1`, `docker://${as.server.host}/team/app:v3`]);
    assert.notEqual(bad.code, 0, `skopeo pushed with a wrong password:\n${bad.describe()}`);
    assert.deepEqual(await tagsOf(as, 'team/app'), ['v1', 'v2']);
  });

  test('anonymous skopeo inspect and copy of a public project work', async () => {
    assertOk(await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', credsArg(as.admin), `oci:${srcPublic}:v1`, `docker://${as.server.host}/pub/base:v1`]));
    const i = await skopeo(['inspect', '--tls-verify=false', `docker://${as.server.host}/pub/base:v1`]);
    assertOk(i);
    const info = JSON.parse(i.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, imgPublic.manifest.digest);
    assert.deepEqual(info.Layers, imgPublic.layers.map((l) => l.blob.digest));
    const out = join(work, 'out-public');
    assertOk(await skopeo(['copy', '--src-tls-verify=false', `docker://${as.server.host}/pub/base:v1`, `oci:${out}:v1`]));
    await assertLayoutHoldsImage(out, 'v1', imgPublic);
  });

  test('anonymous skopeo of a private project fails: 401 with a challenge, an anonymous token, then 403', async () => {
    const mark = as.server.output().length;
    const r = await skopeo(['inspect', '--tls-verify=false', `docker://${as.server.host}/team/app:v1`]);
    assert.notEqual(r.code, 0, `skopeo read a private project anonymously:\n${r.describe()}`);
    const copy = await skopeo(['copy', '--src-tls-verify=false', `docker://${as.server.host}/team/app:v1`, `oci:${join(work, 'out-denied')}:v1`]);
    assert.notEqual(copy.code, 0, `skopeo copied a private project anonymously:\n${copy.describe()}`);
    // What skopeo saw, from the server's request log (bounded wait: the log line follows the answer).
    let lines: RequestLine[] = [];
    for (let i = 0; i < 40; i++) {
      lines = requestsSince(as, mark);
      if (lines.some((l) => l.url.includes('/manifests/') && l.status === 403)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const first401 = lines.findIndex((l) => l.status === 401);
    const tokenOk = lines.findIndex((l, i) => i > first401 && l.url.startsWith('/token') && l.status === 200);
    const denied = lines.findIndex((l, i) => i > tokenOk && l.url.startsWith('/v2/team/app/manifests/') && l.status === 403);
    assert.ok(first401 >= 0 && tokenOk > first401 && denied > tokenOk, `expected 401, then /token 200, then a 403 on the manifest; got ${JSON.stringify(lines)}`);
    assert.ok(!lines.some((l) => l.url.startsWith('/v2/team/app/manifests/') && l.status === 200), 'a manifest was served');

    // The same exchange step by step with fetch.
    const anon = await http(as.url, 'GET', '/v2/team/app/manifests/v1');
    expectError(anon, 401, 'UNAUTHORIZED', 'anonymous manifest GET');
    const challenge = parseBearerChallenge(anon.headers.get('www-authenticate'));
    assert.deepEqual(challenge, { realm: `${as.url}/token`, service: 'berth', scope: 'repository:team/app:pull' });
    const t = await http<{ token: string }>(as.url, 'GET', `/token?service=${challenge!.service}&scope=${encodeURIComponent(challenge!.scope!)}`);
    assert.equal(t.status, 200, t.text);
    const jwt = decodeJwt(t.json!.token);
    assert.equal(jwt.header.alg, 'ES256');
    assert.equal(jwt.payload.aud, 'berth');
    const granted = (jwt.payload.access ?? []).flatMap((a) => a.actions);
    assert.deepEqual(granted, [], `an anonymous token for a private project grants ${JSON.stringify(jwt.payload.access)}`);
    const retry = await http(as.url, 'GET', '/v2/team/app/manifests/v1', { auth: bearer(t.json!.token) });
    expectError(retry, 403, 'DENIED', 'manifest GET with the anonymous token');
    assert.deepEqual(await tagsOf(as, 'team/app'), ['v1', 'v2'], 'nothing changed');
  });

  test('the audit log names who pushed and pulled, from where', async () => {
    const want: Partial<AuditEntry>[] = [
      { action: 'manifest.push', actor: robot.username, target: 'team/app:v1', project: 'team', outcome: 'ok', address: '127.0.0.1' },
      { action: 'manifest.pull', actor: robot.username, target: 'team/app:v1', project: 'team', outcome: 'ok', address: '127.0.0.1' },
      { action: 'manifest.push', actor: 'dev', target: 'team/app:v2', project: 'team', outcome: 'ok', address: '127.0.0.1' },
      { action: 'manifest.pull', actor: 'dev', target: 'team/app:v2', project: 'team', outcome: 'ok', address: '127.0.0.1' },
      { action: 'manifest.pull', actor: 'anonymous', target: 'pub/base:v1', project: 'pub', outcome: 'ok', address: '127.0.0.1' },
      { action: 'access', actor: 'anonymous', target: 'team/app', project: 'team', outcome: 'denied', address: '127.0.0.1' },
      { action: 'login', actor: 'dev', outcome: 'failed', address: '127.0.0.1' },
    ];
    const entries = await waitForAudit(as, {}, (es) => want.every((w) => has(es, w)));
    for (const w of want) assert.ok(has(entries, w), `no audit entry like ${JSON.stringify(w)}; have ${JSON.stringify(entries.map((e) => [e.action, e.actor, e.target, e.outcome]))}`);
    // Only successful pulls are manifest.pull: nothing for team/app was pulled anonymously.
    assert.ok(!entries.some((e) => e.action === 'manifest.pull' && e.actor === 'anonymous' && e.target.startsWith('team/')));
  });
});
