import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import {
  DockerConfigError,
  dockerConfigPath,
  encodeAuth,
  findCredentials,
  parseDockerConfig,
  readDockerConfig,
  registryKey,
  removeCredentials,
  storeCredentials,
} from './docker-config.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
  file = join(dir, 'docker', 'config.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

// An `auth` value is base64 of user:password; RFC 7617 section 2 gives Aladdin / open sesame as its example.
const ALADDIN = { username: 'Aladdin', password: 'open sesame' };
const ALADDIN_AUTH = 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==';

describe('dockerConfigPath', () => {
  test('$DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/etc/ci/docker' }), '/etc/ci/docker/config.json');
    assert.equal(dockerConfigPath({}), join(homedir(), '.docker', 'config.json'));
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: '' }), join(homedir(), '.docker', 'config.json'));
  });
});

describe('encodeAuth and registryKey', () => {
  test('auth is base64 of user:password (RFC 7617 examples, UTF-8 included)', () => {
    assert.equal(encodeAuth(ALADDIN), ALADDIN_AUTH);
    // RFC 7617 section 2.1: user "test", password "123£" in UTF-8.
    assert.equal(encodeAuth({ username: 'test', password: '123\u00a3' }), 'dGVzdDoxMjPCow==');
  });

  test('keys are host[:port] without scheme or path, lower-case', () => {
    assert.equal(registryKey('localhost:5000'), 'localhost:5000');
    assert.equal(registryKey('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(registryKey('http://Registry.Example.com:8443'), 'registry.example.com:8443');
    assert.equal(registryKey('[::1]:5000'), '[::1]:5000');
  });
});

describe('storeCredentials', () => {
  test('creates the directory 0700 and the file 0600 with auths[host].auth', async () => {
    await storeCredentials(file, 'localhost:5000', ALADDIN);
    assert.equal(await mode(join(dir, 'docker')), 0o700);
    assert.equal(await mode(file), 0o600);
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    assert.deepEqual(doc, { auths: { 'localhost:5000': { auth: ALADDIN_AUTH } } });
  });

  test('keeps every other key and entry, replaces only its own entry, and tightens the mode to 0600', async () => {
    // Keys from the configuration reference, https://docs.docker.com/reference/cli/docker/#sample-configuration-file
    const before = {
      HttpHeaders: { MyHeader: 'MyValue' },
      psFormat: 'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Labels}}',
      auths: {
        'registry.example.com': { auth: 'b3RoZXI6c2VjcmV0' },
        'localhost:5000': { auth: 'b2xkOm9sZA==', email: 'kept?' },
      },
      credHelpers: { 'awesomereg.example.org': 'hip-star' },
      proxies: { default: { httpProxy: 'http://user:pass@example.com:3128' } },
      big: 12345678901234,
    };
    await mkdir(join(dir, 'docker'), { recursive: true });
    await writeFile(file, JSON.stringify(before));
    await chmod(file, 0o644);
    await storeCredentials(file, 'localhost:5000', ALADDIN);
    const after = JSON.parse(await readFile(file, 'utf8')) as typeof before;
    assert.deepEqual(after, { ...before, auths: { 'registry.example.com': { auth: 'b3RoZXI6c2VjcmV0' }, 'localhost:5000': { auth: ALADDIN_AUTH } } });
    assert.deepEqual(Object.keys(after), Object.keys(before), 'key order kept');
    assert.equal(await mode(file), 0o600);
    const leftovers = (await readdir(join(dir, 'docker'))).filter((n) => n !== 'config.json');
    assert.deepEqual(leftovers, [], 'no temporary file left behind');
  });

  test('an empty file counts as an empty config', async () => {
    await mkdir(join(dir, 'docker'), { recursive: true });
    await writeFile(file, '\n');
    await storeCredentials(file, 'h:1', ALADDIN);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { auths: { 'h:1': { auth: ALADDIN_AUTH } } });
  });

  test('a malformed file is refused with a clear error and left byte for byte as it was', async () => {
    await mkdir(join(dir, 'docker'), { recursive: true });
    for (const text of ['{"auths": {', '[1, 2]', 'null', '{"auths": []}', '{"auths": "x"}']) {
      await writeFile(file, text);
      await assert.rejects(storeCredentials(file, 'localhost:5000', ALADDIN), (e: unknown) => {
        assert.ok(e instanceof DockerConfigError, String(e));
        assert.ok(e.message.startsWith(`${file}: `), e.message);
        assert.match(e.message, /will not overwrite it/);
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), text, `unchanged: ${text}`);
      assert.deepEqual(await readdir(join(dir, 'docker')), ['config.json'], 'no temporary file left behind');
    }
  });

  test('a username with a colon is refused (it could not be told from the password)', async () => {
    await assert.rejects(storeCredentials(file, 'h', { username: 'a:b', password: 'c' }), /cannot contain ":"/);
    await assert.rejects(stat(file), { code: 'ENOENT' });
  });

  test('a config file that is a symbolic link is updated where it points', async () => {
    const real = join(dir, 'dotfiles', 'docker.json');
    await mkdir(join(dir, 'dotfiles'));
    await writeFile(real, '{"psFormat": "x"}');
    await mkdir(join(dir, 'docker'));
    await symlink(real, file);
    await storeCredentials(file, 'h:1', ALADDIN);
    assert.deepEqual(JSON.parse(await readFile(real, 'utf8')), { psFormat: 'x', auths: { 'h:1': { auth: ALADDIN_AUTH } } });
    assert.ok((await lstat(file)).isSymbolicLink(), 'the link stays a link');
    assert.equal(await mode(real), 0o600);
  });
});

describe('findCredentials and readDockerConfig', () => {
  test('a missing file reads as undefined', async () => {
    assert.equal(await readDockerConfig(file), undefined);
  });

  test('finds the exact key first, then a key written as a URL', () => {
    const config = parseDockerConfig('f', JSON.stringify({ auths: { 'https://reg.example.com/v1/': { auth: ALADDIN_AUTH } } }));
    assert.deepEqual(findCredentials('f', config, ['reg.example.com']), { key: 'https://reg.example.com/v1/', credentials: ALADDIN });
    assert.equal(findCredentials('f', config, ['other.example.com']), undefined);
    const both = parseDockerConfig('f', JSON.stringify({ auths: { 'http://h:1': { auth: 'eDp5' }, 'h:1': { auth: ALADDIN_AUTH } } }));
    assert.deepEqual(findCredentials('f', both, ['h:1'])?.credentials, ALADDIN);
  });

  test('hosts are tried in order; an entry without auth (credential helper) is no credentials', () => {
    const config = parseDockerConfig('f', JSON.stringify({ auths: { 'h:443': { auth: ALADDIN_AUTH }, helper: {} }, credsStore: 'desktop' }));
    assert.deepEqual(findCredentials('f', config, ['h', 'h:443'])?.key, 'h:443');
    assert.equal(findCredentials('f', config, ['helper']), undefined);
  });

  test('a password may contain colons; a malformed auth is an error naming the key', () => {
    const config = parseDockerConfig('f', JSON.stringify({ auths: { a: { auth: encodeAuth({ username: 'u', password: 'p:q:r' }) }, b: { auth: '!!!' }, c: { auth: 'bm9jb2xvbg==' } } }));
    assert.deepEqual(findCredentials('f', config, ['a'])?.credentials, { username: 'u', password: 'p:q:r' });
    assert.throws(() => findCredentials('f', config, ['b']), /auths\["b"\]\.auth is not base64/);
    // "bm9jb2xvbg==" is base64 of "nocolon".
    assert.throws(() => findCredentials('f', config, ['c']), /does not hold user:password/);
  });
});

describe('removeCredentials', () => {
  test('removes the entry (and URL-form keys of the same host), keeps the rest', async () => {
    await mkdir(join(dir, 'docker'), { recursive: true });
    await writeFile(file, JSON.stringify({ auths: { 'h:1': { auth: ALADDIN_AUTH }, 'https://h:1/v2/': { auth: ALADDIN_AUTH }, other: { auth: 'eDp5' } }, psFormat: 'x' }));
    assert.equal(await removeCredentials(file, 'h:1'), true);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { auths: { other: { auth: 'eDp5' } }, psFormat: 'x' });
    assert.equal(await mode(file), 0o600);
  });

  test('nothing to remove: answers false and neither creates nor rewrites the file', async () => {
    assert.equal(await removeCredentials(file, 'h:1'), false);
    await assert.rejects(stat(file), { code: 'ENOENT' });
    await mkdir(join(dir, 'docker'), { recursive: true });
    const text = '{ "auths": {"other": {"auth": "eDp5"}} }';
    await writeFile(file, text);
    assert.equal(await removeCredentials(file, 'h:1'), false);
    assert.equal(await readFile(file, 'utf8'), text);
  });

  test('a malformed file is refused, not rewritten', async () => {
    await mkdir(join(dir, 'docker'), { recursive: true });
    await writeFile(file, '{oops');
    await assert.rejects(removeCredentials(file, 'h:1'), DockerConfigError);
    assert.equal(await readFile(file, 'utf8'), '{oops');
  });
});
