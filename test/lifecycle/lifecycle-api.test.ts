/**
 * Lifecycle policy documents through the running server (issue 7, docs/management-api.md):
 * policies per repository and per project (`project/*`), validation (POLICY_INVALID naming the
 * rule and the field, nothing stored changes), and hostile input. Profile-agnostic:
 * BERTH_TEST_PROFILE picks the backends inside startServer(). Planning and applying are in
 * lifecycle-plan.test.ts.
 *
 * Policy documents follow the Amazon ECR lifecycle policy format:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, type Image } from '../helpers/oci.js';
import {
  SEED_POLICY,
  api,
  assertPlan,
  assertServing,
  expectError,
  getPolicy,
  keepTagged,
  managementConfig,
  policyPath,
  preview,
  pushInOrder,
  putPolicy,
  q,
  type Plan,
  type PolicyView,
} from '../helpers/management.js';

let server: TestServer;
let base: string;
let seedCounter = 1000;
/** A fresh image with its own layer and config (distinct seeds give distinct digests). */
const freshImage = (extra: Parameters<typeof makeImage>[0] = {}): Image => makeImage({ seed: seedCounter++, ...extra });

before(async () => {
  server = await startServer({ config: managementConfig() });
  base = server.url;
});
after(async () => {
  await server?.stop();
});

describe('policy documents per repository and per project', () => {
  test('put, get and delete a repository policy; the stored document is the one sent', async () => {
    const before = await api(base, 'GET', policyPath('crud/app'));
    expectError(before, 404, 'NOT_FOUND', 'GET before any PUT');
    const put = await putPolicy(base, 'crud/app', SEED_POLICY);
    assert.equal(put.target, 'crud/app');
    assert.deepEqual(put.policy, SEED_POLICY);
    assert.ok(!Number.isNaN(Date.parse(put.updatedAt)), `updatedAt ${put.updatedAt}`);
    const got = await getPolicy(base, 'crud/app');
    assert.deepEqual(got, put);
    const del = await api(base, 'DELETE', policyPath('crud/app'));
    assert.equal(del.status, 204, del.text);
    expectError(await api(base, 'GET', policyPath('crud/app')), 404, 'NOT_FOUND', 'GET after DELETE');
    expectError(await api(base, 'DELETE', policyPath('crud/app')), 404, 'NOT_FOUND', 'second DELETE');
  });

  test('a project policy applies to its repositories; a repository policy wins over it', async () => {
    // Two tagged images per repository, oldest first.
    const a = [freshImage(), freshImage()];
    const b = [freshImage(), freshImage()];
    const x = [freshImage(), freshImage()];
    await pushInOrder(base, 'proj/a', [{ ref: 'a1', img: a[0]! }, { ref: 'a2', img: a[1]! }]);
    await pushInOrder(base, 'proj/b', [{ ref: 'b1', img: b[0]! }, { ref: 'b2', img: b[1]! }]);
    // `projx` shares a prefix with `proj` but is another project.
    await pushInOrder(base, 'projx/a', [{ ref: 'x1', img: x[0]! }, { ref: 'x2', img: x[1]! }]);
    const digests = (imgs: Image[]) => imgs.map((i) => i.manifest.digest);

    const put = await putPolicy(base, 'proj/*', keepTagged(1));
    assert.equal(put.target, 'proj/*');
    assert.deepEqual((await getPolicy(base, 'proj/*')).policy, keepTagged(1));

    let plan = await preview(base, 'proj/a');
    assert.equal(plan.policyTarget, 'proj/*');
    assertPlan(plan, digests(a), [a[0]!.manifest.digest], 'proj/a under proj/*');
    plan = await preview(base, 'proj/b');
    assert.equal(plan.policyTarget, 'proj/*');
    assertPlan(plan, digests(b), [b[0]!.manifest.digest], 'proj/b under proj/*');
    plan = await preview(base, 'projx/a');
    assert.equal(plan.policyTarget, null, 'proj/* must not reach projx/a');
    assertPlan(plan, digests(x), [], 'projx/a');

    // proj/b's own policy (keep 5) wins over the project's (keep 1).
    await putPolicy(base, 'proj/b', keepTagged(5));
    plan = await preview(base, 'proj/b');
    assert.equal(plan.policyTarget, 'proj/b');
    assertPlan(plan, digests(b), [], 'proj/b with its own policy');
    plan = await preview(base, 'proj/a');
    assert.equal(plan.policyTarget, 'proj/*', 'proj/b policy must not change proj/a');

    // Without its own policy, proj/b falls back to the project's.
    assert.equal((await api(base, 'DELETE', policyPath('proj/b'))).status, 204);
    plan = await preview(base, 'proj/b');
    assert.equal(plan.policyTarget, 'proj/*');
    assertPlan(plan, digests(b), [b[0]!.manifest.digest], 'proj/b after its policy was deleted');

    // Without any policy nothing expires.
    assert.equal((await api(base, 'DELETE', policyPath('proj/*'))).status, 204);
    plan = await preview(base, 'proj/a');
    assert.equal(plan.policyTarget, null);
    assertPlan(plan, digests(a), [], 'proj/a without a policy');
    for (const k of plan.keep) assert.equal(k.rule, null);
  });
});

describe('invalid policy documents are refused and change nothing', () => {
  const TARGET = 'invalid/app';
  let stored: PolicyView;
  before(async () => {
    stored = await putPolicy(base, TARGET, SEED_POLICY);
  });

  const rule = (priority: number, selection: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    rulePriority: priority,
    selection,
    action: { type: 'expire' },
    ...extra,
  });
  const tagged = { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 3 };
  const untagged = { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 };

  // [what, document, patterns the message must match (the rule and the field)]
  const cases: Array<[string, unknown, RegExp[]]> = [
    [
      'duplicate rulePriority',
      { rules: [rule(1, tagged), rule(1, untagged)] },
      [/rules\[1\]/, /rulePriority/],
    ],
    [
      '"any" rule not the highest rulePriority',
      { rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }), rule(2, tagged)] },
      [/rules\[0\]|rulePriority 1/, /tagStatus/],
    ],
    [
      'countUnit with imageCountMoreThan',
      { rules: [rule(1, { ...tagged, countUnit: 'days' })] },
      [/rules\[0\]|rulePriority 1/, /countUnit/],
    ],
    [
      'unknown selection field',
      { rules: [rule(1, tagged), rule(2, { ...untagged, tagFilter: 'x' })] },
      [/rules\[1\]|rulePriority 2/, /tagFilter/],
    ],
    ['unknown rule field', { rules: [rule(3, tagged, { enabled: true })] }, [/rules\[0\]|rulePriority 3/, /enabled/]],
    ['unknown top-level field', { rules: [rule(1, tagged)], version: 2 }, [/version/]],
    ['sinceImagePushed without countUnit', { rules: [rule(1, { ...untagged, countUnit: undefined })] }, [/rules\[0\]/, /countUnit/]],
    ['countNumber 0', { rules: [rule(1, { ...tagged, countNumber: 0 })] }, [/rules\[0\]/, /countNumber/]],
    ['countNumber negative', { rules: [rule(1, { ...tagged, countNumber: -5 })] }, [/rules\[0\]/, /countNumber/]],
    ['countNumber a string', { rules: [rule(1, { ...tagged, countNumber: '10' })] }, [/rules\[0\]/, /countNumber/]],
    ['countNumber fractional', { rules: [rule(1, { ...tagged, countNumber: 1.5 })] }, [/rules\[0\]/, /countNumber/]],
    ['countNumber beyond 2^53', { rules: [rule(1, { ...tagged, countNumber: 2 ** 60 })] }, [/rules\[0\]/, /countNumber/]],
    ['rulePriority huge', { rules: [rule(1e300, tagged)] }, [/rules\[0\]/, /rulePriority/]],
    ['rulePriority negative', { rules: [rule(-1, tagged)] }, [/rules\[0\]/, /rulePriority/]],
    ['rulePriority a string', { rules: [rule('1' as unknown as number, tagged)] }, [/rules\[0\]/, /rulePriority/]],
    ['tagStatus in capitals', { rules: [rule(1, { ...tagged, tagStatus: 'TAGGED' })] }, [/rules\[0\]/, /tagStatus/]],
    ['action other than expire', { rules: [{ ...rule(1, tagged), action: { type: 'delete' } }] }, [/rules\[0\]/, /action/]],
    ['tagged without a tag list', { rules: [rule(1, { ...tagged, tagPatternList: undefined })] }, [/rules\[0\]/, /tagP(attern|refix)List/]],
    [
      'five wildcards in a pattern (ECR allows four)',
      { rules: [rule(1, { ...tagged, tagPatternList: ['*a*b*c*d*'] })] },
      [/rules\[0\]/, /tagPatternList/],
    ],
    ['two untagged rules', { rules: [rule(1, untagged), rule(2, untagged)] }, [/rules\[1\]/, /tagStatus/]],
    ['no rules', { rules: [] }, [/rules/]],
    ['rules not an array', { rules: { rulePriority: 1 } }, [/rules/]],
    ['51 rules (ECR allows 50)', { rules: Array.from({ length: 51 }, (_, i) => rule(i + 1, { ...tagged, tagPatternList: [`t${i}*`] })) }, [/rules/]],
    [
      'longer than ECR\'s 30,720 characters',
      { rules: [{ ...rule(1, tagged), description: 'x'.repeat(40_000) }] },
      [/30720|30,720|longer/],
    ],
    ['an array document', [SEED_POLICY], [/rules|object/]],
    ['null document', null, [/rules|object/]],
    ['a number document', 42, [/rules|object/]],
  ];

  for (const [what, doc, patterns] of cases) {
    test(`refused: ${what}`, async () => {
      const r = await api(base, 'PUT', policyPath(TARGET), JSON.stringify(doc));
      const message = expectError(r, 400, 'POLICY_INVALID', what);
      for (const p of patterns) assert.match(message, p, `${what}: message ${JSON.stringify(message)}`);
      // Nothing stored changed: the previous policy, with its previous time.
      assert.deepEqual(await getPolicy(base, TARGET), stored, `${what}: stored policy changed`);
    });
  }

  test('refused: a body that is not JSON', async () => {
    const r = await api(base, 'PUT', policyPath(TARGET), '{"rules": [ {"rulePriority": 1,');
    expectError(r, 400, 'POLICY_INVALID', 'not JSON');
    assert.deepEqual(await getPolicy(base, TARGET), stored);
  });

  test('refused: an empty body', async () => {
    const r = await api(base, 'PUT', policyPath(TARGET), '');
    expectError(r, 400, 'POLICY_INVALID', 'empty body');
    assert.deepEqual(await getPolicy(base, TARGET), stored);
  });

  test('refused: a body over 256 KiB', async () => {
    // Valid JSON, so only the size can be the reason.
    const big = JSON.stringify({ rules: [], pad: 'x'.repeat(300 * 1024) });
    const r = await api(base, 'PUT', policyPath(TARGET), big);
    expectError(r, 400, 'POLICY_INVALID', '300 KiB body');
    assert.deepEqual(await getPolicy(base, TARGET), stored);
  });

  test('refused: a body of several MiB (the server may also close the connection)', async () => {
    const huge = Buffer.alloc(8 * 1024 * 1024, 0x20);
    let status: number | undefined;
    try {
      const r = await api(base, 'PUT', policyPath(TARGET), huge);
      status = r.status;
    } catch {
      status = undefined; // connection closed while sending: also a refusal
    }
    assert.ok(status === undefined || (status >= 400 && status < 500), `8 MiB body answered ${status}`);
    await assertServing(base);
    assert.deepEqual(await getPolicy(base, TARGET), stored);
  });
});

describe('hostile input', () => {
  for (const target of ['../x', 'Team/*', 'a//b', 'team/*/x', '*', 'team/**', 'a/../b', '/abs', 'x'.repeat(300)]) {
    test(`target ${JSON.stringify(target.slice(0, 20))} is NAME_INVALID for GET, PUT and DELETE`, async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await api(base, method, policyPath(target), method === 'PUT' ? SEED_POLICY : undefined);
        expectError(r, 400, 'NAME_INVALID', `${method} ${target}`);
      }
    });
  }

  test('preview and apply refuse invalid repository names', async () => {
    for (const repo of ['../x', 'Team/app', 'a//b', 'team/*']) {
      expectError(await api(base, 'GET', `/api/v1/lifecycle/preview${q('repository', repo)}`), 400, 'NAME_INVALID', `preview ${repo}`);
      expectError(await api(base, 'POST', `/api/v1/lifecycle/apply${q('repository', repo)}`), 400, 'NAME_INVALID', `apply ${repo}`);
    }
  });

  test('preview refuses a `now` that is not an ISO-8601 time', async () => {
    for (const now of ['yesterday', '1700000000000', '2026-13-45T00:00:00Z', '+275760-09-13T00:00:00Z', '']) {
      const r = await api(base, 'GET', `/api/v1/lifecycle/preview${q('repository', 'seed/app')}&now=${encodeURIComponent(now)}`);
      if (now === '') {
        // An empty `now` may mean "now"; it must not be an error other than POLICY_INVALID.
        assert.ok(r.status === 200 || r.error?.code === 'POLICY_INVALID', `now="": ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      expectError(r, 400, 'POLICY_INVALID', `now=${now}`);
    }
  });

  test('preview refuses a calendar date that does not exist', async () => {
    // 2026-02-30 is no day; a lenient date parser silently moves it to March 2.
    const r = await api(base, 'GET', `/api/v1/lifecycle/preview${q('repository', 'seed/app')}&now=${encodeURIComponent('2026-02-30T00:00:00Z')}`);
    expectError(r, 400, 'POLICY_INVALID', 'now=2026-02-30T00:00:00Z');
  });

  test('a policy sent as a JSON string is refused, or stored so that PUT and GET answer the same document', async () => {
    // A double-encoded body: the JSON text of a policy, sent as one JSON string.
    const text = JSON.stringify(keepTagged(3));
    const put = await api<PolicyView>(base, 'PUT', policyPath('strings/app'), JSON.stringify(text));
    if (put.status === 400) {
      assert.equal(put.error?.code, 'POLICY_INVALID');
      return;
    }
    assert.equal(put.status, 200, put.text);
    const got = await getPolicy(base, 'strings/app');
    assert.deepEqual(put.json!.policy, got.policy, 'PUT answered another document than GET returns');
  });

  test('patterns that make backtracking matchers explode are evaluated in bounded time', async () => {
    // (a+)+$ against a long run of "a" that ends in "-" takes exponential time on a backtracking
    // regex engine; four wildcards make a naive recursive matcher polynomial of degree four.
    const img = freshImage();
    const longTag = 'a'.repeat(100) + '-';
    await pushInOrder(base, 'redos/app', [{ ref: longTag, img }]);
    await putPolicy(base, 'redos/app', {
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'tagged', tagPatternList: ['(a+)+$'], tagPatternType: 'regex', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
        {
          rulePriority: 2,
          selection: { tagStatus: 'tagged', tagPatternList: ['*a*a*a*b'], countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    });
    const r = await fetch(`${base}/api/v1/lifecycle/preview${q('repository', 'redos/app')}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.status, 200);
    const plan = (await r.json()) as Plan;
    // Neither pattern matches the tag (it ends in "-"), so no rule selects the image.
    assert.deepEqual(plan.expire, []);
    assert.deepEqual(plan.keep.map((k) => [k.digest, k.rule]), [[img.manifest.digest, null]]);
  });

  test('a missing target is refused with 400', async () => {
    const r = await api(base, 'GET', '/api/v1/lifecycle/policy');
    assert.equal(r.status, 400, r.text);
  });

  test('the server still serves after all of the above', async () => {
    await assertServing(base);
    assert.equal((await api(base, 'GET', '/api/v1/audit?limit=1')).status, 200);
  });
});
