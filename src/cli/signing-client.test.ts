import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteRegistryError } from '../client/registry-client.js';
import { resolveCredentials } from './management-command.js';
import {
  cosignRepositoryName,
  describeCandidateFailure,
  describeRegistryFailure,
  emptyResult,
  gather,
  parseAnnotationFlag,
  readInputFile,
  registryUrls,
  RegistryAccessError,
  SigningInputError,
} from './signing-client.js';

describe('naming and addressing registries', () => {
  test('cosign names Docker Hub repositories index.docker.io/… (go-containerregistry), others host/path', () => {
    // The payload cosign 1.13.1 signed for chihjenhuang/cosign1 names "index.docker.io/chihjenhuang/cosign1"
    // (test/fixtures/cosign/README.md, cosign-1.13-sig-manifest.json's layer).
    assert.equal(cosignRepositoryName('docker.io', 'chihjenhuang/cosign1'), 'index.docker.io/chihjenhuang/cosign1');
    assert.equal(cosignRepositoryName('localhost:5000', 'team/app'), 'localhost:5000/team/app');
  });

  test('loopback is plain HTTP, other hosts HTTPS unless --insecure; Docker Hub credentials live under https://index.docker.io/v1/', () => {
    assert.deepEqual(registryUrls('127.0.0.1:5000'), { url: 'http://127.0.0.1:5000', credentialsUrl: 'http://127.0.0.1:5000' });
    assert.equal(registryUrls('localhost').url, 'http://localhost');
    assert.equal(registryUrls('registry.example.com').url, 'https://registry.example.com');
    assert.equal(registryUrls('registry.example.com', true).url, 'http://registry.example.com');
    assert.deepEqual(registryUrls('docker.io'), { url: 'https://registry-1.docker.io', credentialsUrl: 'https://index.docker.io/v1/' });
  });

  test('the Docker Hub entry docker login writes is found for docker.io images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-signing-client-'));
    try {
      const auth = Buffer.from('hubuser:hubpass').toString('base64');
      await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth } } }));
      const found = await resolveCredentials({ server: 'x' }, registryUrls('docker.io').credentialsUrl, { DOCKER_CONFIG: dir });
      assert.deepEqual(found?.credentials, { username: 'hubuser', password: 'hubpass' });
      assert.equal(await resolveCredentials({ server: 'x' }, registryUrls('ghcr.io').credentialsUrl, { DOCKER_CONFIG: dir }), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('input parsing', () => {
  test('-a key=value: the value may hold "=", the last of a key wins, a missing key or "=" is refused', () => {
    assert.deepEqual(parseAnnotationFlag('a=b=c'), { a: 'b=c' });
    assert.deepEqual(parseAnnotationFlag('env=dev', parseAnnotationFlag('env=prod', { x: '1' })), { x: '1', env: 'dev' });
    assert.deepEqual(parseAnnotationFlag('empty='), { empty: '' });
    assert.throws(() => parseAnnotationFlag('novalue'), /annotation "novalue" is not key=value/);
    assert.throws(() => parseAnnotationFlag('=v'), SigningInputError);
  });

  test('input files: missing, a directory, too large: each named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-signing-client-'));
    try {
      await assert.rejects(readInputFile(join(dir, 'nope'), 'public key'), /^SigningInputError: cannot read public key .*nope: no such file$/);
      await assert.rejects(readInputFile(dir, 'predicate'), /predicate .* is not a file/);
      await writeFile(join(dir, 'big'), Buffer.alloc(11));
      await assert.rejects(readInputFile(join(dir, 'big'), 'predicate', 10), /is 11 bytes; the limit is 10/);
      await writeFile(join(dir, 'ok'), 'x');
      assert.equal((await readInputFile(join(dir, 'ok'), 'predicate')).toString(), 'x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('verification results', () => {
  test('gather: a SigningInputError (a missing blob) becomes that candidate\'s failure; other errors propagate', async () => {
    const r = emptyResult<string>();
    await gather(r, 'bundle referrer sha256:aa', () => ({ verified: ['ok'], failures: [] }));
    await gather(r, 'x.sig layer sha256:bb', () => {
      throw new SigningInputError('blob sha256:bb is missing');
    });
    await gather(r, 'x.sig layer sha256:cc', async () => ({ verified: [], failures: [{ reason: 'bad-signature', message: 'does not verify', source: 'sha256:cc' }] }));
    assert.equal(r.candidates, 3);
    assert.deepEqual(r.verified, ['ok']);
    assert.deepEqual(r.failures.map(describeCandidateFailure), [
      '  x.sig layer sha256:bb: malformed: blob sha256:bb is missing',
      '  x.sig layer sha256:cc: bad-signature: does not verify',
    ]);
    await assert.rejects(gather(r, 'y', () => Promise.reject(new TypeError('bug'))), TypeError);
  });
});

describe('registry failures', () => {
  const target = { registry: 'reg.example', repository: 'team/app', user: 'bob (from --username/--password)' };
  const refused = (status: number, code?: string) => new RemoteRegistryError('https://reg.example', 'refused', `${code ? `${code}: ` : ''}denied (PUT https://reg.example/v2/team/app/manifests/x: ${status})`, status, { code });

  test('DENIED names the user, the action and the repository; UNAUTHORIZED says how to log in', () => {
    assert.deepEqual(describeRegistryFailure(new RegistryAccessError(refused(403, 'DENIED'), 'push', target)), [
      'berth: DENIED: denied (PUT https://reg.example/v2/team/app/manifests/x: 403)',
      "bob (from --username/--password) may not push reg.example/team/app: ask the project's admin for push access, or use other credentials",
    ]);
    const anonymous = describeRegistryFailure(new RegistryAccessError(refused(401, 'UNAUTHORIZED'), 'pull', { ...target, user: undefined }));
    assert.equal(anonymous[1], 'not logged in to reg.example: run berth login reg.example, or pass --username and --password');
    const wrong = describeRegistryFailure(new RegistryAccessError(refused(401), 'pull', target));
    assert.match(wrong[0]!, /^berth: UNAUTHORIZED: /);
    assert.match(wrong[1]!, /^reg\.example refused the credentials of bob/);
  });

  test('an unreachable registry is UNAVAILABLE with advice about names and HTTPS', () => {
    const e = new RemoteRegistryError('https://reg.example', 'unavailable', 'GET https://reg.example/v2/team/app/manifests/v1: ECONNREFUSED');
    const lines = describeRegistryFailure(new RegistryAccessError(e, 'pull', target));
    assert.equal(lines[0], 'berth: UNAVAILABLE: GET https://reg.example/v2/team/app/manifests/v1: ECONNREFUSED');
    assert.match(lines[1]!, /^cannot reach reg\.example: .*HTTPS unless --insecure$/);
  });
});
