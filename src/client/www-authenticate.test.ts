import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges } from './www-authenticate.js';

// Challenge texts as documented in the Docker token authentication spec
// (https://distribution.github.io/distribution/spec/auth/token/) and RFC 9110 §11.6.1.

test('a Docker Hub style Bearer challenge: realm, service and scope', () => {
  const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
  assert.deepEqual(parseChallenges(h), [
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' },
    },
  ]);
});

test('Basic with a realm, as Distribution sends it for htpasswd', () => {
  assert.deepEqual(parseChallenges('Basic realm="berth-test"'), [{ scheme: 'basic', params: { realm: 'berth-test' } }]);
});

test('two challenges in one header, unquoted values, escapes and spaces around "="', () => {
  const h = 'Basic realm="a \\"quoted\\" realm", Bearer realm = https://t.example/token , service=reg';
  assert.deepEqual(parseChallenges(h), [
    { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
    { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
  ]);
});

test('scheme names are case-insensitive; garbage yields no challenge', () => {
  assert.equal(parseChallenges('BEARER realm="x"')[0]?.scheme, 'bearer');
  assert.deepEqual(parseChallenges(''), []);
  assert.deepEqual(parseChallenges('=,,=='), []);
});
