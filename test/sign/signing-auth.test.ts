/**
 * The signing commands against a server with access control on: credentials from
 * --username/--password or from the Docker config file berth login wrote, and the advice shown when
 * the registry refuses (UNAUTHORIZED without credentials, DENIED for a user who may only pull).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProject, createUser, setMember, startAuthServer, type AuthServer, type Creds } from '../helpers/auth.js';
import { makeLayoutImage } from '../helpers/oci-layout.js';
import { berth, fails, ok, pushWithSkopeo, skipWithoutSkopeo, type CliResult } from './sign-helpers.js';

const PASSWORD = 'signing key password';

describe('signing with access control on', { skip: skipWithoutSkopeo }, () => {
  let as: AuthServer;
  let work: string;
  let dockerConfig: string;
  let writer: Creds;
  let reader: Creds;
  const app = makeLayoutImage({ seed: 91 });
  const run = (args: string[], input?: string): Promise<CliResult> => berth(args, { dockerConfig, env: { COSIGN_PASSWORD: PASSWORD }, cwd: work, input });
  const image = () => `${as.server.host}/team/app:v1`;
  const creds = (c: Creds) => ['--username', c.username, '--password', c.password];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-sign-auth-'));
    dockerConfig = join(work, 'docker');
    await mkdir(dockerConfig);
    as = await startAuthServer();
    await createProject(as, 'team', false);
    writer = await createUser(as, 'writer');
    reader = await createUser(as, 'reader');
    await setMember(as, 'team', 'writer', 'developer');
    await setMember(as, 'team', 'reader', 'guest');
    await pushWithSkopeo(work, 'app', { image: app }, image(), `${as.admin.username}:${as.admin.password}`);
    ok(await run(['key', 'generate', '--output-key-prefix', join(work, 'cosign')]), 'key generate');
  });

  after(async () => {
    await as?.server.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a developer signs with --username/--password; a guest verifies', async () => {
    ok(await run(['sign', '--key', join(work, 'cosign.key'), ...creds(writer), image()]), 'sign as writer');
    ok(await run(['sign', '--legacy-tag', '--key', join(work, 'cosign.key'), ...creds(writer), image()]), 'legacy sign as writer');
    const verified = JSON.parse(ok(await run(['verify', '--key', join(work, 'cosign.pub'), ...creds(reader), image()]), 'verify as reader').out) as unknown[];
    assert.equal(verified.length, 2);
  });

  test('a guest who may only pull gets DENIED with advice naming the user and the repository', async () => {
    const r = fails(await run(['sign', '--key', join(work, 'cosign.key'), ...creds(reader), image()]), /^berth: DENIED: /m, 'sign as reader');
    assert.match(r.err, new RegExp(`\nreader \\(from --username/--password\\) may not push ${as.server.host}/team/app: ask the project's admin for push access`));
  });

  test('no credentials: told to log in; a wrong password: told the credentials were refused', async () => {
    const anonymous = fails(await run(['verify', '--key', join(work, 'cosign.pub'), image()]), /^berth: (UNAUTHORIZED|DENIED): /m, 'anonymous');
    assert.match(anonymous.err, new RegExp(`not logged in to ${as.server.host}: run berth login ${as.server.host}`));
    const wrong = fails(await run(['verify', '--key', join(work, 'cosign.pub'), '--username', 'writer', '--password', 'not-it-at-all', image()]), /^berth: UNAUTHORIZED: /m, 'wrong password');
    assert.match(wrong.err, new RegExp(`refused the credentials of writer \\(from --username/--password\\)`));
  });

  test('after berth login the Docker config credentials are used', async () => {
    ok(await run(['login', as.server.host, '--username', writer.username, '--password-stdin'], `${writer.password}\n`), 'login');
    ok(await run(['attest', '--key', join(work, 'cosign.key'), '--predicate', join(work, 'cosign.pub'), image()]), 'attest with stored credentials');
    const statements = JSON.parse(ok(await run(['verify-attestation', '--key', join(work, 'cosign.pub'), image()]), 'verify-attestation').out) as unknown[];
    assert.equal(statements.length, 1);
  });
});
