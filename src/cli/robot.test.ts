import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RobotRecord } from '../client/management-client.js';
import { parseActions, renderRobots, robotName, robotStatus } from './robot.js';

test('parseActions: a comma-separated list of pull, push, delete; duplicates dropped; anything else refused', () => {
  assert.deepEqual(parseActions('pull,push'), ['pull', 'push']);
  assert.deepEqual(parseActions(' PULL , push,pull '), ['pull', 'push']);
  assert.deepEqual(parseActions('delete'), ['delete']);
  for (const bad of ['', ',', 'pull,admin', '*', 'read']) assert.throws(() => parseActions(bad), /pull, push, delete/, bad);
});

test('robotName: the short PROJECT+NAME gets the robot$ prefix, a full name stays', () => {
  assert.equal(robotName('team+ci'), 'robot$team+ci');
  assert.equal(robotName('robot$team+ci'), 'robot$team+ci');
});

const robot = (over: Partial<RobotRecord>): RobotRecord => ({
  name: 'robot$team+ci',
  project: 'team',
  actions: ['pull', 'push'],
  repositoryPattern: null,
  expiresAt: null,
  disabled: false,
  description: null,
  createdAt: '2026-11-01T00:00:00.000Z',
  createdBy: 'admin',
  ...over,
});

test('robotStatus: disabled wins, then expired at or after expiresAt', () => {
  const now = Date.UTC(2026, 10, 27);
  assert.equal(robotStatus(robot({}), now), 'enabled');
  assert.equal(robotStatus(robot({ expiresAt: '2026-11-28T00:00:00.000Z' }), now), 'enabled');
  assert.equal(robotStatus(robot({ expiresAt: '2026-11-27T00:00:00.000Z' }), now), 'expired');
  assert.equal(robotStatus(robot({ disabled: true, expiresAt: '2026-11-01T00:00:00.000Z' }), now), 'disabled');
});

test('renderRobots: one line per robot, never for a missing expiry, * for every repository', () => {
  const now = Date.UTC(2026, 10, 27);
  const out = renderRobots([robot({ description: 'CI' }), robot({ name: 'robot$team+old', repositoryPattern: 'team/app', expiresAt: '2026-11-02T00:00:00.000Z', actions: ['pull'] })], now);
  const lines = out.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.deepEqual(
    lines.map((l) => l.split(/ {2,}/)),
    [
      ['NAME', 'ACTIONS', 'REPOSITORIES', 'EXPIRES', 'STATUS', 'DESCRIPTION'],
      ['robot$team+ci', 'pull,push', '*', 'never', 'enabled', 'CI'],
      ['robot$team+old', 'pull', 'team/app', '2026-11-02T00:00:00.000Z', 'expired'],
    ],
  );
  assert.equal(renderRobots([]), 'no robots\n');
});
