import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { vulnerableImage } from '../helpers/scan-images.js';
import {
  basic,
  createProject,
  createUser,
  expectError,
  expectStatus,
  http,
  pushImageAs,
  qs,
  setMember,
  startAuthServer,
  type AuthServer,
  type Creds,
} from '../helpers/auth.js';

/**
 * Who may read and start scans, read signature statuses and change the
 * policies, with access control on: reports and statuses need pull on the
 * repository, starting a scan needs push, policies need a system admin.
 * Anonymous callers get the registry's 401 challenge, members without the
 * right 403 DENIED.
 */
describe('scan and signature APIs under access control', () => {
  let as: AuthServer;
  let guest: Creds;
  let developer: Creds;
  const image = vulnerableImage(701);
  const digest = image.manifest.digest;
  const img = { config: image.config, layers: image.layers.map((l) => l.blob), manifest: image.manifest };

  before(async () => {
    as = await startAuthServer();
    await createProject(as, 'team', false);
    guest = await createUser(as, 'guest-user');
    developer = await createUser(as, 'dev-user');
    await setMember(as, 'team', 'guest-user', 'guest');
    await setMember(as, 'team', 'dev-user', 'developer');
    await pushImageAs(as.url, 'team/app', '1', img, basic(developer));
  });

  after(async () => {
    await as?.server.stop();
  });

  test('reading a scan report or a signature status needs pull', async () => {
    for (const path of [`/api/v1/scan/team/app/${digest}`, `/api/v1/signatures/team/app/${digest}`]) {
      const anonymous = await http(as.url, 'GET', path);
      expectError(anonymous, 401, 'UNAUTHORIZED', `anonymous GET ${path}`);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /scope="repository:team\/app:pull"/);
      expectStatus(await http(as.url, 'GET', path, { auth: basic(guest) }), 200, `guest GET ${path}`);
      const outsider = await createUser(as, `outsider-${path.includes('scan') ? 'a' : 'b'}`);
      expectError(await http(as.url, 'GET', path, { auth: basic(outsider) }), 403, 'DENIED', `outsider GET ${path}`);
    }
  });

  test('starting a scan needs push; changing a policy needs a system admin', async () => {
    const scan = `/api/v1/scan/team/app/${digest}?wait=true`;
    expectError(await http(as.url, 'POST', scan, { auth: basic(guest) }), 403, 'DENIED', 'guest POST scan');
    const done = expectStatus(await http<{ status: string }>(as.url, 'POST', scan, { auth: basic(developer) }), 200, 'developer POST scan');
    assert.equal(done.json?.status, 'done');
    const policy = `/api/v1/scanning/policy${qs({ target: 'team/*' })}`;
    const body = { preventVulnerable: { severity: 'CRITICAL' } };
    expectError(await http(as.url, 'PUT', policy, { auth: basic(developer), body }), 403, 'DENIED', 'developer PUT policy');
    expectStatus(await http(as.url, 'PUT', policy, { auth: basic(as.admin), body }), 200, 'admin PUT policy');
    const signing = `/api/v1/signing/policy${qs({ target: 'team/*' })}`;
    expectError(await http(as.url, 'PUT', signing, { auth: basic(guest), body: { enforce: false } }), 403, 'DENIED', 'guest PUT signing policy');
  });
});
