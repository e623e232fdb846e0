import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatScope, isScopeError, MAX_SCOPES, parseScope, parseScopes, type Scope, type ScopeError } from './scope.js';

/*
 * Expected values come from the token scope spec
 * (https://distribution.github.io/distribution/spec/auth/scope/: the grammar, the example resource
 * types, the note on ':' in names) and the token spec's examples
 * (https://distribution.github.io/distribution/spec/auth/token/: `repository:samalba/my-app:pull,push`).
 */

function ok(s: string): Scope {
  const r = parseScope(s);
  assert.ok(!isScopeError(r), `${s}: ${(r as ScopeError).error}`);
  return r;
}

function refused(s: string): string {
  const r = parseScope(s);
  assert.ok(isScopeError(r), `${s} should be refused, got ${JSON.stringify(r)}`);
  assert.equal(r.scope, s);
  return r.error;
}

describe('parseScope', () => {
  test('the token spec example: repository:samalba/my-app:pull,push', () => {
    assert.deepEqual(ok('repository:samalba/my-app:pull,push'), {
      type: 'repository',
      name: 'samalba/my-app',
      actions: ['pull', 'push'],
    });
  });

  test('pull, push, delete and * in any order come out once each, in canonical order', () => {
    assert.deepEqual(ok('repository:team/app:delete,pull,push,pull').actions, ['pull', 'push', 'delete']);
    assert.deepEqual(ok('repository:team/app:*').actions, ['*']);
  });

  test('registry:catalog:* (the catalog resource)', () => {
    assert.deepEqual(ok('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    assert.match(refused('registry:users:*'), /catalog/);
  });

  test('repository(plugin) is a repository; the class is kept only for the record', () => {
    // "`repository` and `repository(plugin)` are considered equal when authorizing a token."
    assert.deepEqual(ok('repository(plugin):team/plug:pull'), {
      type: 'repository',
      name: 'team/plug',
      actions: ['pull'],
      resourceClass: 'plugin',
    });
  });

  test('actions that fit the grammar but mean nothing here are dropped; an empty list is allowed', () => {
    // action := /[a-z*]*/ admits the empty action.
    assert.deepEqual(ok('repository:team/app:pull,fly').actions, ['pull']);
    assert.deepEqual(ok('repository:team/app:').actions, []);
    assert.deepEqual(ok('repository:team/app:pu*ll').actions, []);
  });

  test('actions outside [a-z*] are refused', () => {
    for (const s of ['repository:team/app:PULL', 'repository:team/app:pull push', 'repository:team/app:pull;push']) {
      assert.match(refused(s), /actions/);
    }
  });

  test('path tricks fail the repository name grammar', () => {
    for (const s of [
      'repository:team/../other:push',
      'repository:team/./app:pull',
      'repository:/team/app:pull',
      'repository:team//app:pull',
      'repository:team/app/:pull',
      'repository:Team/App:pull',
      'repository::pull',
      'repository:team%2fapp:pull',
    ]) {
      assert.match(refused(s), /repository name/, s);
    }
  });

  test('a hostname without a port is a first component with dots, a valid name', () => {
    // resourcename := [ hostname '/' ] component [ '/' component ]*, e.g. "hostname/samalba/myapp".
    assert.equal(ok('repository:registry.example.com/samalba/myapp:pull').name, 'registry.example.com/samalba/myapp');
  });

  test('a host:port prefix is parsed as the grammar says, then refused: it names another registry', () => {
    // "the resourcename may contain one ':' due to a possible port number in the hostname".
    assert.match(refused('repository:localhost:5000/foo:pull'), /names another registry \(localhost:5000\)/);
    assert.match(refused('repository:localhost:5000/foo:pull,push'), /another registry/);
  });

  test('a colon anywhere else in the name is refused', () => {
    for (const s of ['repository:localhost:5000:pull', 'repository:team/app:v1:pull', 'repository:a:1:2/b:pull', 'repository:ho_st:5000/foo:pull']) {
      assert.match(refused(s), /":" only as the port/, s);
    }
  });

  test('malformed scopes are errors, not exceptions', () => {
    for (const s of ['', 'repository', 'repository:team/app', ':team/app:pull', 'Repository:team/app:pull', 'repository(:a:pull', 'repository(x)(y):a:pull']) {
      assert.ok(isScopeError(parseScope(s)), s);
    }
    assert.match(refused('namespace:samalba:pull'), /unsupported resource type "namespace"/);
    assert.match(refused(`repository:${'a'.repeat(600)}:pull`), /longer than/);
    assert.match(refused(`repository:${'a'.repeat(256)}:pull`), /longer than 255/);
  });
});

describe('parseScopes', () => {
  test('several scope parameters, and spaces within one (the POST form), are all read', () => {
    const { scopes, errors } = parseScopes(['repository:a/one:pull', 'repository:a/two:pull,push registry:catalog:*']);
    assert.deepEqual(errors, []);
    assert.deepEqual(scopes.map(formatScope), ['repository:a/one:pull', 'repository:a/two:pull,push', 'registry:catalog:*']);
  });

  test('scopes naming one resource are merged; bad ones are reported beside the good ones', () => {
    const { scopes, errors } = parseScopes(['repository:a/b:push', 'repository(plugin):a/b:pull', 'repository:team/../x:push', '  ']);
    assert.deepEqual(scopes.map(formatScope), ['repository:a/b:pull,push']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.scope, 'repository:team/../x:push');
  });

  test(`at most ${MAX_SCOPES} resources are accepted`, () => {
    const list = Array.from({ length: MAX_SCOPES + 2 }, (_, i) => `repository:p/r${i}:pull`);
    const { scopes, errors } = parseScopes(list);
    assert.equal(scopes.length, MAX_SCOPES);
    assert.equal(errors.length, 2);
  });

  test('no scope at all is an empty request (a token for no resource, as docker login asks)', () => {
    assert.deepEqual(parseScopes([]), { scopes: [], errors: [] });
    assert.deepEqual(parseScopes(['']), { scopes: [], errors: [] });
  });
});

describe('formatScope', () => {
  test('writes the grammar form with actions in canonical order', () => {
    assert.equal(formatScope({ type: 'repository', name: 'samalba/my-app', actions: ['push', 'pull'] }), 'repository:samalba/my-app:pull,push');
    assert.equal(formatScope({ type: 'registry', name: 'catalog', actions: ['*'] }), 'registry:catalog:*');
  });
});
