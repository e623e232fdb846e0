import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canManageProject,
  grantedActions,
  identityRefusal,
  isSystemAdmin,
  matchesRepositoryPattern,
  repositoryPatternProblem,
  type Identity,
} from './rbac.js';
import type { Action } from './scope.js';

/*
 * Expected grants come from issue 3's role table ("guest (pull), developer (pull, push), maintainer
 * (pull, push, delete), admin (everything, including members and settings). System admins see
 * everything.") and the token spec's rule that a token grants the intersection of the requested and
 * the allowed actions. Repository patterns are checked against JavaScript's RegExp as an oracle.
 */

const NOW = Date.UTC(2025, 5, 1);
const ALL: Action[] = ['pull', 'push', 'delete'];
const PRIVATE = { public: false };
const PUBLIC = { public: true };
const anonymous: Identity = { kind: 'anonymous' };
const user = (roles: Record<string, 'guest' | 'developer' | 'maintainer' | 'admin'>, systemAdmin = false): Identity => ({
  kind: 'user',
  name: 'alice',
  systemAdmin,
  roles,
});
const robot = (over: Partial<Extract<Identity, { kind: 'robot' }>> = {}): Identity => ({
  kind: 'robot',
  name: 'robot$team+ci',
  project: 'team',
  actions: ['pull', 'push'],
  repositoryPattern: null,
  expiresAt: null,
  disabled: false,
  ...over,
});

describe('grantedActions', () => {
  test('roles: guest pulls, developer pushes, maintainer and admin delete', () => {
    const expected = { guest: ['pull'], developer: ['pull', 'push'], maintainer: ALL, admin: ALL } as const;
    for (const [role, actions] of Object.entries(expected)) {
      const id = user({ team: role as keyof typeof expected });
      assert.deepEqual(grantedActions(id, 'team/app', ['*'], PRIVATE, NOW), actions, role);
      assert.deepEqual(grantedActions(id, 'team/deep/app', ALL, PRIVATE, NOW), actions, role);
      assert.deepEqual(grantedActions(id, 'other/app', ['*'], PRIVATE, NOW), [], `${role} outside the project`);
    }
  });

  test('the grant is the intersection with the request: asking push as a guest yields pull only', () => {
    const guest = user({ team: 'guest' });
    assert.deepEqual(grantedActions(guest, 'team/app', ['pull', 'push'], PRIVATE, NOW), ['pull']);
    assert.deepEqual(grantedActions(guest, 'team/app', ['push'], PRIVATE, NOW), []);
    assert.deepEqual(grantedActions(user({ team: 'admin' }), 'team/app', ['delete', 'pull'], PRIVATE, NOW), ['pull', 'delete']);
    assert.deepEqual(grantedActions(user({ team: 'admin' }), 'team/app', [], PRIVATE, NOW), []);
  });

  test('the project is the first path component; a one-component name is its own project', () => {
    assert.deepEqual(grantedActions(user({ app: 'developer' }), 'app', ['*'], PRIVATE, NOW), ['pull', 'push']);
    assert.deepEqual(grantedActions(user({ team: 'developer' }), 'teamx/app', ['*'], PRIVATE, NOW), []);
  });

  test('anonymous: pull on public projects only', () => {
    assert.deepEqual(grantedActions(anonymous, 'team/app', ['pull', 'push'], PUBLIC, NOW), ['pull']);
    assert.deepEqual(grantedActions(anonymous, 'team/app', ['*'], PRIVATE, NOW), []);
    assert.deepEqual(grantedActions(anonymous, 'team/app', ['pull'], undefined, NOW), []);
  });

  test('users without a role pull public projects; a missing project grants them nothing', () => {
    assert.deepEqual(grantedActions(user({}), 'pub/app', ['*'], PUBLIC, NOW), ['pull']);
    assert.deepEqual(grantedActions(user({ pub: 'developer' }), 'pub/app', ['*'], PUBLIC, NOW), ['pull', 'push']);
    assert.deepEqual(grantedActions(user({ team: 'admin' }), 'team/app', ['*'], undefined, NOW), []);
  });

  test('system admins may do everything, even where no project exists yet', () => {
    const root = user({}, true);
    assert.deepEqual(grantedActions(root, 'any/app', ['*'], PRIVATE, NOW), ALL);
    assert.deepEqual(grantedActions(root, 'new/app', ['push'], undefined, NOW), ['push']);
  });

  test('roles are read as own properties: projects named like Object.prototype members grant nothing', () => {
    for (const project of ['constructor', '__proto__', 'tostring', 'hasownproperty', 'valueOf']) {
      assert.deepEqual(grantedActions(user({}), `${project}/app`, ['*'], PRIVATE, NOW), [], project);
      assert.equal(canManageProject(user({}), project), false, project);
    }
    const odd = user(JSON.parse('{"__proto__": "admin"}') as Record<string, 'admin'>);
    assert.deepEqual(grantedActions(odd, '__proto__/app', ['*'], PRIVATE, NOW), ALL);
  });

  test('robots: their actions, in their project, on repositories matching their pattern', () => {
    assert.deepEqual(grantedActions(robot(), 'team/app', ['*'], PRIVATE, NOW), ['pull', 'push']);
    assert.deepEqual(grantedActions(robot({ actions: ['*'] }), 'team/app', ['*'], PRIVATE, NOW), ALL);
    assert.deepEqual(grantedActions(robot(), 'other/app', ['pull', 'push'], PRIVATE, NOW), [], 'outside its project');
    const ci = robot({ repositoryPattern: 'team/ci-*' });
    assert.deepEqual(grantedActions(ci, 'team/ci-app', ['push'], PRIVATE, NOW), ['push']);
    assert.deepEqual(grantedActions(ci, 'team/web', ['pull', 'push'], PRIVATE, NOW), [], 'outside its pattern');
    // A pattern naming another project does not carry the robot out of its own.
    assert.deepEqual(grantedActions(robot({ repositoryPattern: '*' }), 'other/app', ['pull'], PRIVATE, NOW), []);
  });

  test('robots pull public projects like anyone, but never push outside their scope', () => {
    assert.deepEqual(grantedActions(robot(), 'pub/base', ['pull', 'push'], PUBLIC, NOW), ['pull']);
    assert.deepEqual(grantedActions(robot({ repositoryPattern: 'team/ci-*' }), 'team/web', ['pull', 'push'], PUBLIC, NOW), ['pull']);
  });

  test('expired or disabled robots may do nothing, not even public pulls', () => {
    const expired = robot({ expiresAt: NOW });
    assert.deepEqual(grantedActions(expired, 'team/app', ['*'], PUBLIC, NOW), []);
    assert.equal(identityRefusal(expired, NOW), 'robot expired');
    assert.deepEqual(grantedActions(robot({ expiresAt: NOW + 1 }), 'team/app', ['pull'], PRIVATE, NOW), ['pull']);
    const disabled = robot({ disabled: true });
    assert.deepEqual(grantedActions(disabled, 'team/app', ['*'], PUBLIC, NOW), []);
    assert.equal(identityRefusal(disabled, NOW), 'robot disabled');
    assert.equal(identityRefusal(robot(), NOW), undefined);
    assert.equal(identityRefusal(anonymous, NOW), undefined);
  });
});

describe('canManageProject and isSystemAdmin', () => {
  test('project admins manage their project; system admins every project; nobody else', () => {
    assert.equal(canManageProject(user({ team: 'admin' }), 'team'), true);
    assert.equal(canManageProject(user({ team: 'admin' }), 'other'), false);
    for (const role of ['guest', 'developer', 'maintainer'] as const) assert.equal(canManageProject(user({ team: role }), 'team'), false);
    assert.equal(canManageProject(user({}, true), 'anything'), true);
    assert.equal(canManageProject(anonymous, 'team'), false);
    assert.equal(canManageProject(robot({ actions: ['*'] }), 'team'), false);
    assert.equal(isSystemAdmin(user({}, true)), true);
    assert.equal(isSystemAdmin(user({ team: 'admin' })), false);
    assert.equal(isSystemAdmin(robot()), false);
    assert.equal(isSystemAdmin(anonymous), false);
  });
});

describe('repository patterns', () => {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const oracle = (p: string): RegExp => new RegExp(`^${p.split('*').map(escape).join('.*')}$`, 's');

  test('agree with a regular expression on every pair', () => {
    const patterns = ['team/ci-*', 'team/*', '*', 'team/*/cache', '*-app', 'team/a*b*c', 'team/app', 'a*a*a', '**', 'team/.*'];
    const names = ['team/ci-app', 'team/ci-', 'team/ci-app/cache', 'team/web', 'team/x/cache', 'team/cache', 'web-app', 'team/abc',
      'team/aXbYc', 'team/acb', 'team/app', 'aaa', 'aa', 'a', 'team/.x', 'team/ax', ''];
    for (const p of patterns) {
      for (const n of names) assert.equal(matchesRepositoryPattern(p, n), oracle(p).test(n), `${p} vs ${n}`);
    }
  });

  test('unusable patterns are reported and match nothing', () => {
    for (const p of ['', 'Team/*', 'team/app?', 'team/[a-z]', 'a'.repeat(256), '*a*a*a*a*a*a*a*a*']) {
      assert.ok(repositoryPatternProblem(p), p);
      assert.equal(matchesRepositoryPattern(p, 'team/app'), false, p);
    }
    assert.equal(repositoryPatternProblem('team/ci-*'), undefined);
  });
});
