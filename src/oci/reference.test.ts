import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  MAX_NAME_LENGTH,
  isInsecureRegistryHost,
  isValidName,
  isValidTag,
  nameProblem,
  parseImageReference,
} from './reference.js';

/*
 * Expected values come from the OCI distribution-spec v1.1 ("Pulling manifests"):
 *   <name>      [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 *   <reference> as a tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 * and from docker's reference grammar (distribution/reference) for full image references.
 */

const DIGEST = 'sha256:' + createHash('sha256').update('reference test').digest('hex');

describe('repository names (distribution-spec <name> grammar)', () => {
  const valid = [
    'a',
    '0',
    'app',
    'team/app',
    'a/b/c/d/e',
    'my-app',
    'my--app', // -+ : any number of dashes
    'my---app',
    'my_app',
    'my__app', // __ is an allowed separator
    'my.app',
    'a.b_c__d-e--f',
    'team-1/app.v2/x_y',
    '0a/9z',
    'a'.repeat(MAX_NAME_LENGTH),
  ];
  for (const n of valid) {
    test(`valid: ${JSON.stringify(n.length > 40 ? `${n.slice(0, 10)}…(${n.length})` : n)}`, () => {
      assert.equal(isValidName(n), true);
      assert.equal(nameProblem(n), undefined);
    });
  }

  const invalid: Array<[string, string]> = [
    ['', 'empty'],
    ['App', 'uppercase'],
    ['team/App', 'uppercase in a later component'],
    ['my___app', 'three underscores is not a separator'],
    ['my_-app', 'mixed separators'],
    ['my-.app', 'mixed separators'],
    ['my..app', 'double dot'],
    ['.app', 'leading separator'],
    ['app.', 'trailing separator'],
    ['-app', 'leading dash'],
    ['app-', 'trailing dash'],
    ['_app', 'leading underscore'],
    ['/app', 'leading slash'],
    ['app/', 'trailing slash'],
    ['team//app', 'empty path component'],
    ['my app', 'space'],
    ['app:tag', 'colon'],
    ['app@sha256', 'at sign'],
    ['täm/app', 'non-ASCII'],
    ['app\n', 'trailing newline'],
    ['a'.repeat(MAX_NAME_LENGTH + 1), 'longer than 255'],
  ];
  for (const [n, why] of invalid) {
    test(`invalid (${why})`, () => {
      assert.equal(isValidName(n), false);
      const p = nameProblem(n);
      assert.equal(typeof p, 'string');
      assert.ok((p as string).length > 0);
    });
  }

  test('the length limit is 255', () => {
    assert.equal(MAX_NAME_LENGTH, 255);
    assert.match(nameProblem('a'.repeat(256)) ?? '', /255/);
  });

  test('an empty name says it is empty', () => {
    assert.match(nameProblem('') ?? '', /empty/);
  });
});

describe('tags (distribution-spec tag grammar)', () => {
  const valid = ['latest', 'v1', 'V1.2.3', '1', '_', '_x', 'a-b_c.d', 'X'.repeat(128), 'sha256-abc.sig'];
  for (const t of valid) {
    test(`valid: ${JSON.stringify(t.length > 40 ? `${t.slice(0, 5)}…(${t.length})` : t)}`, () => {
      assert.equal(isValidTag(t), true);
    });
  }
  const invalid: Array<[string, string]> = [
    ['', 'empty'],
    ['.x', 'leading dot'],
    ['-x', 'leading dash'],
    ['X'.repeat(129), '129 characters'],
    ['a:b', 'colon'],
    ['a/b', 'slash'],
    ['a b', 'space'],
    ['a+b', 'plus'],
    ['a@b', 'at sign'],
    ['v1\n', 'trailing newline'],
    ['tág', 'non-ASCII'],
  ];
  for (const [t, why] of invalid) {
    test(`invalid (${why})`, () => {
      assert.equal(isValidTag(t), false);
    });
  }
});

describe('parseImageReference', () => {
  test('localhost:5000/team/app:v1 — a registry with a port, a two-component name and a tag', () => {
    assert.deepEqual(parseImageReference('localhost:5000/team/app:v1'), {
      registry: 'localhost:5000',
      name: 'team/app',
      tag: 'v1',
      digest: undefined,
    });
  });

  test('127.0.0.1:5000/a@sha256:… — the port colon is not mistaken for a tag', () => {
    assert.deepEqual(parseImageReference(`127.0.0.1:5000/a@${DIGEST}`), {
      registry: '127.0.0.1:5000',
      name: 'a',
      tag: undefined,
      digest: DIGEST,
    });
  });

  test('team/app — no registry means docker.io', () => {
    assert.deepEqual(parseImageReference('team/app'), {
      registry: 'docker.io',
      name: 'team/app',
      tag: undefined,
      digest: undefined,
    });
  });

  test('ghcr.io/x/y:1 — a dotted first component is a registry; a numeric tag', () => {
    assert.deepEqual(parseImageReference('ghcr.io/x/y:1'), {
      registry: 'ghcr.io',
      name: 'x/y',
      tag: '1',
      digest: undefined,
    });
  });

  test('localhost/app — bare localhost is a registry', () => {
    const r = parseImageReference('localhost/app');
    assert.equal(r.registry, 'localhost');
    assert.equal(r.name, 'app');
  });

  test('localhost:5000/app — a port without a tag', () => {
    const r = parseImageReference('localhost:5000/app');
    assert.equal(r.registry, 'localhost:5000');
    assert.equal(r.name, 'app');
    assert.equal(r.tag, undefined);
  });

  test('tag and digest together', () => {
    const r = parseImageReference(`ghcr.io/x/y:v2@${DIGEST}`);
    assert.equal(r.registry, 'ghcr.io');
    assert.equal(r.name, 'x/y');
    assert.equal(r.tag, 'v2');
    assert.equal(r.digest, DIGEST);
  });

  test('a first component without a dot, colon or "localhost" is part of the name', () => {
    const r = parseImageReference('team/sub/app:v1');
    assert.equal(r.registry, 'docker.io');
    assert.equal(r.name, 'team/sub/app');
  });

  test('an invalid repository name is rejected', () => {
    assert.throws(() => parseImageReference('localhost:5000/Team/App:v1'), /invalid image reference/);
    assert.throws(() => parseImageReference('ghcr.io/x//y'), /invalid image reference/);
  });

  test('an invalid tag is rejected', () => {
    assert.throws(() => parseImageReference('team/app:'), /invalid tag/);
    assert.throws(() => parseImageReference('team/app:.hidden'), /invalid tag/);
    assert.throws(() => parseImageReference(`team/app:${'x'.repeat(129)}`), /invalid tag/);
  });

  // docker's reference grammar: reference := name [ ":" tag ] [ "@" digest ], with
  // digest := algorithm ":" encoded (the image-spec digest grammar). The same string
  // is used by the distribution-spec as <reference>, which "MUST be either (a) the
  // digest of the manifest or (b) a tag name".
  test('an invalid digest after "@" is rejected', () => {
    assert.throws(() => parseImageReference('team/app@not-a-digest'));
    assert.throws(() => parseImageReference('team/app@sha256:zzz'));
    assert.throws(() => parseImageReference('team/app@'));
  });
});

describe('isInsecureRegistryHost', () => {
  test('loopback hosts, with or without a port, are plain HTTP', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:5000', '[::1]', '[::1]:5000']) {
      assert.equal(isInsecureRegistryHost(h), true, h);
    }
  });
  test('anything else is HTTPS', () => {
    for (const h of ['ghcr.io', 'docker.io', 'localhost.example.com', 'example.com:5000', '10.0.0.1:5000', 'mylocalhost']) {
      assert.equal(isInsecureRegistryHost(h), false, h);
    }
  });
});
