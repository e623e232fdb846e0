import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagementApiError } from '../client/management-client.js';
import {
  accessFailure,
  credentialKeys,
  parseDuration,
  parseExpiry,
  parseSince,
  resolveCredentials,
  schemeFor,
  serverUrl,
} from './management-command.js';

describe('parseDuration and parseExpiry', () => {
  test('a whole number of s, m, h, d or w, in seconds', () => {
    const cases: Array<[string, number]> = [
      ['45s', 45],
      ['90m', 90 * 60],
      ['12h', 12 * 3600],
      ['30d', 30 * 86400],
      ['2w', 14 * 86400],
      ['1D', 86400],
      [' 3h ', 3 * 3600],
    ];
    for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text);
  });

  test('refuses what is not one whole positive quantity of a known unit', () => {
    for (const text of ['', '30', 'd', '1.5h', '-1h', '0d', '1y', '1h30m', 'thirty days', '99999999999999999999d']) {
      assert.throws(() => parseDuration(text), /duration|zero|too long/, JSON.stringify(text));
    }
  });

  test('--expires also takes never', () => {
    assert.equal(parseExpiry('never'), 'never');
    assert.equal(parseExpiry('NEVER'), 'never');
    assert.equal(parseExpiry('30d'), 2_592_000);
    assert.throws(() => parseExpiry('forever'), /duration or never/);
  });
});

describe('parseSince', () => {
  const now = Date.UTC(2026, 10, 27, 10, 0, 0); // 2026-11-27T10:00:00Z
  test('a duration counts back from now', () => {
    assert.equal(parseSince('1h', now), '2026-11-27T09:00:00.000Z');
    assert.equal(parseSince('2d', now), '2026-11-25T10:00:00.000Z');
    assert.equal(parseSince('30m', now), '2026-11-27T09:30:00.000Z');
  });

  test('an ISO-8601 instant is taken as is, in UTC', () => {
    assert.equal(parseSince('2026-11-01T00:00:00Z', now), '2026-11-01T00:00:00.000Z');
    assert.equal(parseSince('2026-11-01T01:00:00+01:00', now), '2026-11-01T00:00:00.000Z');
    assert.equal(parseSince('2026-11-01', now), '2026-11-01T00:00:00.000Z');
  });

  test('anything else is refused, naming both forms', () => {
    assert.throws(() => parseSince('yesterday', now), /ISO-8601.*duration/s);
    assert.throws(() => parseSince('3y', now), /neither a duration/);
    assert.throws(() => parseSince('2026-11-01T00:00:00', now), /add Z or an offset/);
  });
});

describe('server URL and credential keys', () => {
  test('localhost, 127.0.0.1 and [::1] are plain HTTP on any port, as docker does; other hosts HTTPS unless insecure', () => {
    for (const host of ['localhost', 'localhost:5000', '127.0.0.1:1234', '[::1]:5000', '[::1]', 'LOCALHOST:80']) assert.equal(schemeFor(host), 'http', host);
    for (const host of ['registry.example.com', 'example.com:5000', '127.0.0.2:5000', '10.0.0.1', 'localhost.example.com']) {
      assert.equal(schemeFor(host), 'https', host);
      assert.equal(schemeFor(host, true), 'http', `${host} --insecure`);
    }
  });

  test('--server takes a URL as written, or a bare HOST[:PORT]', () => {
    assert.equal(serverUrl('http://localhost:5000'), 'http://localhost:5000');
    assert.equal(serverUrl('https://127.0.0.1:5000'), 'https://127.0.0.1:5000', 'an explicit scheme wins');
    assert.equal(serverUrl('localhost:5000'), 'http://localhost:5000');
    assert.equal(serverUrl('reg.example.com'), 'https://reg.example.com');
    assert.equal(serverUrl('reg.example.com:8080', true), 'http://reg.example.com:8080');
  });

  test('the Docker config keys of a server URL: host:port, plus the default port when the URL has none', () => {
    assert.deepEqual(credentialKeys('http://localhost:5000'), ['localhost:5000']);
    assert.deepEqual(credentialKeys('http://localhost:5000/prefix/'), ['localhost:5000']);
    assert.deepEqual(credentialKeys('https://reg.example.com'), ['reg.example.com', 'reg.example.com:443']);
    assert.deepEqual(credentialKeys('http://reg.example.com:80'), ['reg.example.com', 'reg.example.com:80'], 'URL drops the default port');
    assert.deepEqual(credentialKeys('http://[::1]:5000'), ['[::1]:5000']);
  });
});

describe('resolveCredentials', () => {
  let dir: string;
  const env = () => ({ DOCKER_CONFIG: dir });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cred-'));
    await mkdir(dir, { recursive: true });
    // "YWRtaW46czNjcmV0" is base64 of "admin:s3cret".
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'localhost:5000': { auth: 'YWRtaW46czNjcmV0' } } }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('flags win over the config file', async () => {
    const r = await resolveCredentials({ server: 'x', username: 'bob', password: 'pw' }, 'http://localhost:5000', env());
    assert.deepEqual(r, { credentials: { username: 'bob', password: 'pw' }, source: '--username/--password' });
  });

  test('--username without --password (or the reverse) is refused', async () => {
    await assert.rejects(resolveCredentials({ server: 'x', username: 'bob' }, 'http://localhost:5000', env()), /go together/);
    await assert.rejects(resolveCredentials({ server: 'x', password: 'pw' }, 'http://localhost:5000', env()), /go together/);
  });

  test('otherwise the entry for the server host:port, naming the file and key', async () => {
    const r = await resolveCredentials({ server: 'x' }, 'http://localhost:5000', env());
    assert.deepEqual(r?.credentials, { username: 'admin', password: 's3cret' });
    assert.equal(r?.source, `${join(dir, 'config.json')} (auths["localhost:5000"])`);
  });

  test('no entry for that host, or no file at all: no credentials', async () => {
    assert.equal(await resolveCredentials({ server: 'x' }, 'http://localhost:5001', env()), undefined);
    assert.equal(await resolveCredentials({ server: 'x' }, 'http://localhost:5000', { DOCKER_CONFIG: join(dir, 'absent') }), undefined);
  });
});

describe('accessFailure', () => {
  const err = (code: string, status: number, message: string, retryAfterSeconds?: number) =>
    new ManagementApiError(code, message, { status, retryAfterSeconds });

  test('401 without credentials: not logged in, run berth login HOST', () => {
    assert.deepEqual(accessFailure(err('UNAUTHORIZED', 401, 'authentication required'), { host: 'localhost:5000' }), [
      'berth: UNAUTHORIZED: not logged in to localhost:5000: run berth login localhost:5000',
      'run berth login localhost:5000 or pass --username/--password',
    ]);
  });

  test('401 with credentials: whose were refused and where they came from', () => {
    const lines = accessFailure(err('UNAUTHORIZED', 401, 'invalid username or password'), { host: 'h:1', username: 'bob', source: '--username/--password' });
    assert.deepEqual(lines, ['berth: UNAUTHORIZED: h:1 refused the credentials of bob from --username/--password: invalid username or password', 'run berth login h:1 or pass --username/--password']);
  });

  test('403 DENIED: ask a system admin; 409 DENIED: the name is taken', () => {
    assert.deepEqual(accessFailure(err('DENIED', 403, 'only system admins may use the management API'), { host: 'h', username: 'bob' }), [
      'berth: DENIED: only system admins may use the management API',
      'your account (bob) lacks the rights for this: ask a system admin',
    ]);
    assert.match(accessFailure(err('DENIED', 409, 'user bob already exists'), { host: 'h' })![1]!, /taken/);
  });

  test('TOOMANYREQUESTS: wait (as long as the server said) and retry', () => {
    assert.equal(accessFailure(err('TOOMANYREQUESTS', 429, 'too many failed logins'), { host: 'h' })![1], 'too many failed logins: wait and retry');
    assert.equal(accessFailure(err('TOOMANYREQUESTS', 429, 'x', 42), { host: 'h' })![1], 'too many failed logins: wait 42 s and retry');
  });

  test('other codes are left to fail', () => {
    assert.equal(accessFailure(err('NOT_FOUND', 404, 'no such user'), { host: 'h' }), undefined);
  });
});
