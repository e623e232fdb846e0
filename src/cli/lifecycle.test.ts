import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LifecyclePlan } from '../client/management-client.js';
import { planJson, renderPlan } from './lifecycle.js';

// The plan example of docs/management-api.md, with one image no rule selected.
const A = 'sha256:' + '1'.repeat(64);
const B = 'sha256:' + '2'.repeat(64);
const C = 'sha256:' + '3'.repeat(64);
const plan: LifecyclePlan = {
  repository: 'team/app',
  now: '2026-11-27T10:00:00.000Z',
  policyTarget: 'team/*',
  applied: false,
  expire: [{ digest: A, tags: ['v1'], rule: 1, reason: 'rank 11 of 12 among images tagged v*; rule keeps 10' }],
  keep: [
    { digest: B, tags: ['v9', 'latest'], rule: 1, reason: 'rank 2 of 12; rule keeps 10' },
    { digest: C, tags: [], rule: null, reason: 'no rule selects it' },
  ],
};

test('planJson keeps exactly digest, tags, rule, reason for expire and digest, tags, rule for keep', () => {
  const out = planJson({ ...plan, extra: 'ignored' } as LifecyclePlan);
  assert.deepEqual(JSON.parse(JSON.stringify(out)), {
    expire: [{ digest: A, tags: ['v1'], rule: 1, reason: 'rank 11 of 12 among images tagged v*; rule keeps 10' }],
    keep: [
      { digest: B, tags: ['v9', 'latest'], rule: 1 },
      { digest: C, tags: [], rule: null },
    ],
  });
});

test('renderPlan lists EXPIRE rows before KEEP rows, short digests, then a summary', () => {
  const lines = renderPlan(plan).split('\n');
  assert.match(lines[0]!, /^ACTION\s+DIGEST\s+TAGS\s+RULE\s+REASON$/);
  assert.match(lines[1]!, /^EXPIRE\s+sha256:111111111111\s+v1\s+1\s+rank 11 of 12/);
  assert.match(lines[2]!, /^KEEP\s+sha256:222222222222\s+v9,latest\s+1\s+rank 2 of 12/);
  assert.match(lines[3]!, /^KEEP\s+sha256:333333333333\s+<untagged>\s+-\s+no rule selects it$/);
  assert.equal(lines[4], '');
  assert.equal(lines[5], 'team/app: would expire 1 image, keep 2 (policy of team/*, as of 2026-11-27T10:00:00.000Z)');
  assert.ok(!renderPlan(plan).includes(A), 'full digests are not printed');
});

test('renderPlan after apply, and without any policy', () => {
  assert.match(renderPlan({ ...plan, applied: true }), /^EXPIRED\s+sha256:1/m);
  assert.match(renderPlan({ ...plan, applied: true }), /team\/app: expired 1 image, kept 2 \(policy of team\/\*/);
  const none = renderPlan({ ...plan, policyTarget: null, expire: [], keep: [] });
  assert.equal(none, 'team/app: would expire 0 images, keep 0 (no lifecycle policy applies, as of 2026-11-27T10:00:00.000Z)\n');
});
