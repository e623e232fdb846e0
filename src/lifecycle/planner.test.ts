import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseLifecyclePolicy } from './policy.js';
import { planLifecycle, type ImageInfo, type LifecyclePlan, type PlanEntry } from './planner.js';

/*
 * The repositories, policies and expected outcomes of the "Examples of lifecycle policies in Amazon
 * ECR" page are data from https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
 * (and its earlier tagPrefixList version,
 * https://github.com/awsdocs/amazon-ecr-user-guide/blob/master/doc_source/lifecycle_policy_examples.md).
 * "Pushed: N days ago" is placed at exactly N × 24 h before NOW. Where the page gives a policy but
 * no repository, the repository is made up here and the expected set worked out by hand from the
 * page's description of the policy. Other expectations are worked out by hand in the comments.
 */

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2024, 5, 30, 12, 0, 0);
const digestOf = (name: string): string => `sha256:${createHash('sha256').update(name).digest('hex')}`;

function image(name: string, tags: string[], pushedDaysAgo: number, more: Partial<ImageInfo> = {}): ImageInfo {
  return { digest: digestOf(name), tags, pushedAt: NOW - pushedDaysAgo * DAY, lastPulledAt: null, subject: null, children: [], ...more };
}

/** Names the tests give images, by digest. */
const nameMap = new Map<string, string>();
const nameOf = (digest: string): string => nameMap.get(digest) ?? digest;
function named(name: string, tags: string[], pushedDaysAgo: number, more: Partial<ImageInfo> = {}): ImageInfo {
  nameMap.set(digestOf(name), name);
  return image(name, tags, pushedDaysAgo, more);
}

interface NamedPlan extends LifecyclePlan {
  expired: string[];
  kept: string[];
  entry(name: string): PlanEntry;
}

/** Plans, checks that every image appears exactly once, and adds names for digests. */
function plan(policy: unknown, images: ImageInfo[], now = NOW): NamedPlan {
  const result = planLifecycle(parseLifecyclePolicy(policy), images, now);
  const all = [...result.expire, ...result.keep];
  assert.deepEqual(all.map((e) => e.digest).sort(), images.map((i) => i.digest).sort(), 'every image appears exactly once');
  const entries = new Map(all.map((e) => [nameOf(e.digest), e]));
  return {
    ...result,
    expired: result.expire.map((e) => nameOf(e.digest)).sort(),
    kept: result.keep.map((e) => nameOf(e.digest)).sort(),
    entry: (name) => entries.get(name) as PlanEntry,
  };
}

const rule = (rulePriority: number, selection: Record<string, unknown>): Record<string, unknown> => ({ rulePriority, selection, action: { type: 'expire' } });
const countRule = (p: number, n: number, tags: Record<string, unknown>) => rule(p, { ...tags, countType: 'imageCountMoreThan', countNumber: n });
const ageRule = (p: number, days: number, tags: Record<string, unknown>) => rule(p, { ...tags, countType: 'sinceImagePushed', countUnit: 'days', countNumber: days });

describe('Amazon ECR examples', () => {
  test('filtering on image age: expire images tagged prod* older than 14 days', () => {
    const images = [
      named('A', ['prod-1'], 20),
      named('B', ['prod-2'], 10),
      named('C', ['production'], 15), // "prod*" matches "production" (evaluation rules)
      named('D', ['dev-1'], 30),
      named('E', [], 30),
      named('F', ['prod-3'], 14), // exactly 14 days: not "older than" 14 days
    ];
    const p = plan({ rules: [ageRule(1, 14, { tagStatus: 'tagged', tagPatternList: ['prod*'] })] }, images);
    assert.deepEqual(p.expired, ['A', 'C']);
    assert.equal(p.entry('A').reason, 'pushed 20 days ago; rule 1 expires after 14 days');
    assert.equal(p.entry('F').reason, 'kept by rule 1: pushed 14 days ago, within its 14 days');
    assert.deepEqual(p.entry('D'), { digest: digestOf('D'), tags: ['dev-1'], rule: null, reason: 'no rule selects this image' });
  });

  test('filtering on image age (earlier version): expire untagged images older than 14 days', () => {
    const images = [named('U1', [], 15), named('U2', [], 3), named('T', ['v1'], 30)];
    assert.deepEqual(plan({ rules: [ageRule(1, 14, { tagStatus: 'untagged' })] }, images).expired, ['U1']);
  });

  test('filtering on image count: keep only one untagged image, expire all others', () => {
    const images = [named('U1', [], 5), named('U2', [], 3), named('U3', [], 1), named('T', ['v1'], 10)];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'untagged' })] }, images);
    assert.deepEqual(p.expired, ['U1', 'U2']);
    assert.equal(p.entry('U1').reason, 'rank 3 by push time among 3 images matching; rule 1 keeps 1');
    assert.equal(p.entry('U3').reason, 'kept by rule 1: rank 1 by push time among 3 images matching; rule 1 keeps 1');
  });

  const multipleRulesRepo = (): ImageInfo[] => [
    named('A', ['beta-1', 'prod-1'], 10),
    named('B', ['beta-2', 'prod-2'], 9),
    named('C', ['beta-3'], 8),
  ];

  test('filtering on multiple rules, example A: "Result: Image A is expired."', () => {
    const patterns = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['prod*'] }), countRule(2, 1, { tagStatus: 'tagged', tagPatternList: ['beta*'] })] };
    const p = plan(patterns, multipleRulesRepo());
    assert.deepEqual(p.expired, ['A']);
    // Rule 2 would mark A and B, but both belong to rule 1, which keeps B.
    assert.equal(p.entry('B').rule, 1);
    const prefixes = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPrefixList: ['prod'] }), countRule(2, 1, { tagStatus: 'tagged', tagPrefixList: ['beta'] })] };
    assert.deepEqual(plan(prefixes, multipleRulesRepo()).expired, ['A']);
  });

  test('filtering on multiple rules, example B: "Result: Images A and B are expired."', () => {
    const patterns = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['beta*'] }), countRule(2, 1, { tagStatus: 'tagged', tagPatternList: ['prod*'] })] };
    assert.deepEqual(plan(patterns, multipleRulesRepo()).expired, ['A', 'B']);
    const prefixes = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPrefixList: ['beta'] }), countRule(2, 1, { tagStatus: 'tagged', tagPrefixList: ['prod'] })] };
    assert.deepEqual(plan(prefixes, multipleRulesRepo()).expired, ['A', 'B']);
  });

  test('filtering on multiple tags in a single rule, example A: "Result: Image C is expired."', () => {
    const repo = (): ImageInfo[] => [
      named('A', ['alpha-1'], 12),
      named('B', ['beta-1'], 11),
      named('C', ['alpha-2', 'beta-2'], 10),
      named('D', ['alpha-3'], 4),
      named('E', ['beta-3'], 3),
      named('F', ['alpha-4', 'beta-4'], 2),
    ];
    const patterns = { rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' })] };
    const p = plan(patterns, repo());
    assert.deepEqual(p.expired, ['C']);
    assert.equal(p.entry('A').reason, 'no rule selects this image');
    const prefixes = { rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' })] };
    assert.deepEqual(plan(prefixes, repo()).expired, ['C']);
  });

  test('filtering on multiple tags in a single rule, example B: "Result: Images A and B are expired."', () => {
    const repo = (): ImageInfo[] => [
      named('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
      named('B', ['alpha-2', 'beta-2'], 9),
      named('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
    ];
    assert.deepEqual(plan({ rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'] })] }, repo()).expired, ['A', 'B']);
    assert.deepEqual(plan({ rules: [countRule(1, 1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'] })] }, repo()).expired, ['A', 'B']);
  });

  test('filtering on all images, example A: "Result: Images A, B, and C are expired."', () => {
    const images = [named('A', ['alpha-1'], 4), named('B', ['beta-1'], 3), named('C', [], 2), named('D', ['alpha-2'], 1)];
    assert.deepEqual(plan({ rules: [countRule(1, 1, { tagStatus: 'any' })] }, images).expired, ['A', 'B', 'C']);
  });

  test('filtering on all images, example B: "Result: Images A, B, and D are expired."', () => {
    // D and E are both "Pushed: 1 day ago". The page's outcome needs E not older than one day
    // (rule 2 keeps it) and newer than D (rule 3 keeps the newest image and marks D): E is put at
    // exactly 24 h ago and D one minute before.
    const images = [
      named('A', ['alpha-1', 'beta-1'], 4),
      named('B', [], 3),
      named('C', ['alpha-2'], 2),
      named('D', ['git hash'], 1, { pushedAt: NOW - DAY - 60_000 }),
      named('E', [], 1),
    ];
    const policy = {
      rules: [
        countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['alpha*'] }),
        ageRule(2, 1, { tagStatus: 'untagged' }),
        countRule(3, 1, { tagStatus: 'any' }),
      ],
    };
    const p = plan(policy, images);
    assert.deepEqual(p.expired, ['A', 'B', 'D']);
    assert.deepEqual([p.entry('A').rule, p.entry('B').rule, p.entry('C').rule, p.entry('D').rule, p.entry('E').rule], [1, 2, 1, 3, 2]);
    assert.equal(p.entry('D').reason, 'rank 2 by push time among 5 images matching; rule 3 keeps 1');
    assert.equal(p.entry('E').reason, 'kept by rule 2: pushed 1 day ago, within its 1 day');
  });
});

describe('ECR evaluation rules', () => {
  test('keep the last 10 tagged images, expire untagged images older than 7 days', () => {
    const tagged = Array.from({ length: 12 }, (_, i) => named(`v${i + 1}`, [`v${i + 1}`], 12 - i)); // v1 is 12 days old, v12 1 day
    const untagged = [
      named('u-10d', [], 10),
      named('u-7d', [], 7), // exactly 7 days: kept
      named('u-7d+1ms', [], 7, { pushedAt: NOW - 7 * DAY - 1 }),
      named('u-2d', [], 2),
    ];
    const policy = { rules: [countRule(1, 10, { tagStatus: 'tagged', tagPatternList: ['*'] }), ageRule(2, 7, { tagStatus: 'untagged' })] };
    const p = plan(policy, [...untagged, ...tagged]);
    // Tagged, newest first: v12 ... v3 are ranks 1-10, v2 rank 11, v1 rank 12.
    assert.deepEqual(p.expired, ['u-10d', 'u-7d+1ms', 'v1', 'v2'].sort());
    assert.deepEqual(p.expire.map((e) => e.digest), ['v1', 'v2', 'u-10d', 'u-7d+1ms'].map(digestOf), 'oldest push first');
    assert.equal(p.entry('v2').reason, 'rank 11 by push time among 12 images matching; rule 1 keeps 10');
    assert.equal(p.entry('v3').reason, 'kept by rule 1: rank 10 by push time among 12 images matching; rule 1 keeps 10');
    assert.equal(p.entry('u-7d+1ms').reason, 'pushed more than 7 days ago; rule 2 expires after 7 days');
    assert.equal(p.entry('u-7d').reason, 'kept by rule 2: pushed 7 days ago, within its 7 days');
  });

  test('an image selected by a rule cannot be expired by a rule of lower priority', () => {
    const images = [named('prod-old', ['prod-1'], 100), named('dev-old', ['dev-1'], 100), named('untagged-old', [], 100)];
    const policy = { rules: [countRule(1, 5, { tagStatus: 'tagged', tagPatternList: ['prod*'] }), ageRule(2, 30, { tagStatus: 'any' })] };
    const p = plan(policy, images);
    assert.deepEqual(p.expired, ['dev-old', 'untagged-old']);
    assert.equal(p.entry('prod-old').rule, 1);
  });

  test('a later rule ranks the images of earlier rules as if they had not been expired', () => {
    // Rule 2 ranks all four: prod-a 1, prod-b 2, x 3, y 4. It keeps 2, but prod-a and prod-b
    // belong to rule 1, so only x and y are expired.
    const images = [named('prod-a', ['prod-a'], 1), named('prod-b', ['prod-b'], 2), named('x', ['x'], 3), named('y', [], 4)];
    const policy = { rules: [countRule(1, 100, { tagStatus: 'tagged', tagPrefixList: ['prod'] }), countRule(2, 2, { tagStatus: 'any' })] };
    const p = plan(policy, images);
    assert.deepEqual(p.expired, ['x', 'y']);
    assert.equal(p.entry('x').reason, 'rank 3 by push time among 4 images matching; rule 2 keeps 2');
  });

  test('every entry of a tag list must match some tag; one tag may match several entries', () => {
    const images = [named('one-tag', ['alpha-1'], 10), named('other', ['beta-1'], 10)];
    const policy = { rules: [ageRule(1, 1, { tagStatus: 'tagged', tagPrefixList: ['al', 'alpha'] })] };
    assert.deepEqual(plan(policy, images).expired, ['one-tag']);
  });

  test('equal push times are ranked by digest, so plans are deterministic', () => {
    const images = [named('t1', ['a'], 1), named('t2', ['b'], 1), named('t3', ['c'], 1)];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'any' })] }, images);
    const sorted = images.map((i) => i.digest).sort();
    assert.deepEqual(p.keep.map((e) => e.digest), [sorted[0]]);
    assert.deepEqual(p.expire.map((e) => e.digest), sorted.slice(1));
    assert.deepEqual(planLifecycle(parseLifecyclePolicy({ rules: [countRule(1, 1, { tagStatus: 'any' })] }), [...images].reverse(), NOW), { expire: p.expire, keep: p.keep });
  });

  test('the clock is the now argument', () => {
    const images = [named('x', [], 3)];
    const policy = { rules: [ageRule(1, 5, { tagStatus: 'untagged' })] };
    assert.deepEqual(plan(policy, images).expired, []);
    assert.deepEqual(plan(policy, images, NOW + 2 * DAY + 1).expired, ['x']);
  });

  test('an image listed twice is a caller error', () => {
    assert.throws(() => planLifecycle({ rules: [] }, [image('x', [], 1), image('x', [], 1)], NOW), TypeError);
  });
});

describe('berth extensions', () => {
  test('sinceImagePulled counts from the last pull, or from the push when never pulled', () => {
    const images = [
      named('pulled-40d', ['a'], 100, { lastPulledAt: NOW - 40 * DAY }),
      named('pulled-5d', ['b'], 100, { lastPulledAt: NOW - 5 * DAY }),
      named('never-31d', ['c'], 31),
      named('never-10d', [], 10),
    ];
    const p = plan({ rules: [rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 })] }, images);
    assert.deepEqual(p.expired, ['never-31d', 'pulled-40d']);
    assert.equal(p.entry('pulled-40d').reason, 'last pulled 40 days ago; rule 1 expires after 30 days without a pull');
    assert.equal(p.entry('never-31d').reason, 'never pulled, pushed 31 days ago; rule 1 expires after 30 days without a pull');
    assert.equal(p.entry('pulled-5d').reason, 'kept by rule 1: last pulled 5 days ago, within its 30 days without a pull');
  });

  test('orderBy "pulled" ranks by last pull, falling back to the push', () => {
    const images = () => [
      named('a', ['a'], 10, { lastPulledAt: NOW - DAY / 24 }),
      named('b', ['b'], 1),
      named('c', ['c'], 5, { lastPulledAt: NOW - 3 * DAY }),
      named('d', ['d'], 2, { lastPulledAt: NOW - 20 * DAY }),
    ];
    // By pull (else push): a 1 h, b 1 d, c 3 d, d 20 d. By push: b 1 d, d 2 d, c 5 d, a 10 d.
    const byPull = plan({ rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2, orderBy: 'pulled' })] }, images());
    assert.deepEqual(byPull.expired, ['c', 'd']);
    assert.equal(byPull.entry('d').reason, 'rank 4 by last pull among 4 images matching; rule 1 keeps 2');
    const byPush = plan({ rules: [countRule(1, 2, { tagStatus: 'any' })] }, images());
    assert.deepEqual(byPush.expired, ['a', 'c']);
  });

  test('tagPatternType "regex" selects by regular expression over the whole tag', () => {
    const images = [named('v100', ['v1.0.0'], 3), named('v110', ['v1.1.0'], 2), named('rc', ['v1.2.0-rc1'], 1), named('latest', ['latest'], 5)];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['v\\d+\\.\\d+\\.\\d+'], tagPatternType: 'regex' })] }, images);
    assert.deepEqual(p.expired, ['v100']);
    assert.equal(p.entry('rc').rule, null);
  });
});

describe('referrers and index children (berth)', () => {
  test('a referrer follows its subject, transitively, and names it', () => {
    const images = [
      named('app-old', ['prod-1'], 10),
      named('app-new', ['prod-2'], 1),
      named('sig-old', [], 10, { subject: digestOf('app-old') }),
      named('sig-new', [], 1, { subject: digestOf('app-new') }),
      named('sbom-of-sig', [], 9, { subject: digestOf('sig-old') }),
    ];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['prod*'] })] }, images);
    assert.deepEqual(p.expired, ['app-old', 'sbom-of-sig', 'sig-old']);
    const short = (name: string): string => digestOf(name).slice(0, 'sha256:'.length + 12);
    assert.deepEqual(p.entry('sig-old'), { digest: digestOf('sig-old'), tags: [], rule: 1, reason: `referrer of ${short('app-old')}, which is expired` });
    assert.equal(p.entry('sbom-of-sig').reason, `referrer of ${short('sig-old')}, which is expired`);
    assert.equal(p.entry('sbom-of-sig').rule, 1);
    assert.deepEqual(p.entry('sig-new'), { digest: digestOf('sig-new'), tags: [], rule: 1, reason: `referrer of ${short('app-new')}, which is kept` });
  });

  test('cosign tag-scheme signatures and attestations (sha256-<hex>.sig/.att) follow the image they name', () => {
    const tagOf = (name: string, kind: string): string => `${digestOf(name).replace(':', '-')}.${kind}`;
    const images = [
      named('app-old', ['prod-1'], 10),
      named('app-new', ['prod-2'], 1),
      // Pushed later than app-new: were they evaluated as tagged images, a keep-1 rule over * would expire the apps.
      named('sig-old', [tagOf('app-old', 'sig'), tagOf('app-old', 'att')], 0.5),
      named('sig-new', [tagOf('app-new', 'sig')], 0.5),
    ];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['*'] })] }, images);
    assert.deepEqual(p.expired, ['app-old', 'sig-old']);
    assert.equal(p.entry('sig-new').reason, `referrer of ${digestOf('app-new').slice(0, 'sha256:'.length + 12)}, which is kept`);
  });

  test('referrers are not evaluated by rules, nor counted in rankings', () => {
    // Were the signature counted it would be the newest untagged image, pushing u-new to rank 2.
    const images = [named('u-old', [], 5), named('u-new', [], 1), named('sig', [], 0.5, { subject: digestOf('u-old') })];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'untagged' })] }, images);
    assert.deepEqual(p.expired, ['sig', 'u-old']);
    assert.equal(p.entry('u-old').reason, 'rank 2 by push time among 2 images matching; rule 1 keeps 1');
  });

  test('a referrer whose subject is not among the images is kept, for garbage collection', () => {
    const images = [named('orphan', [], 50, { subject: digestOf('gone') }), named('t', ['t'], 1)];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'any' })] }, images);
    assert.deepEqual(p.expired, []);
    assert.equal(p.entry('orphan').rule, null);
    assert.match(p.entry('orphan').reason, /not among the images; left to garbage collection/);
  });

  test('a reference cycle is kept and does not loop', () => {
    const images = [named('x', [], 50, { subject: digestOf('y') }), named('y', [], 50, { subject: digestOf('x') }), named('self', [], 50, { subject: digestOf('self') })];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'any' })] }, images);
    assert.deepEqual(p.kept, ['self', 'x', 'y']);
    assert.match(p.entry('self').reason, /in a reference cycle; kept$/);
    // Whichever of x and y is decided first meets the cycle; the other follows it.
    assert.ok([p.entry('x').reason, p.entry('y').reason].some((r) => /in a reference cycle; kept$/.test(r)));
  });

  test('the platform manifests of an index follow it and are not evaluated on their own', () => {
    const images = [
      named('index-v1', ['v1'], 10, { children: [digestOf('v1-amd64'), digestOf('v1-arm64')] }),
      named('v1-amd64', [], 10),
      named('v1-arm64', [], 10),
      named('index-v2', ['v2'], 1, { children: [digestOf('v2-amd64'), digestOf('v2-arm64'), digestOf('not-present')] }),
      named('v2-amd64', [], 2),
      named('v2-arm64', [], 2),
      named('loose', [], 5), // listed by no index among the images: an ordinary untagged image
    ];
    const policy = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['v*'] }), ageRule(2, 1, { tagStatus: 'untagged' })] };
    const p = plan(policy, images);
    assert.deepEqual(p.expired, ['index-v1', 'loose', 'v1-amd64', 'v1-arm64']);
    const short = digestOf('index-v1').slice(0, 'sha256:'.length + 12);
    assert.deepEqual(p.entry('v1-amd64'), { digest: digestOf('v1-amd64'), tags: [], rule: 1, reason: `child of index ${short}, which is expired` });
    assert.equal(p.entry('v2-amd64').rule, 1);
    assert.match(p.entry('v2-amd64').reason, /^child of index sha256:[0-9a-f]{12}, which is kept$/);
    assert.equal(p.entry('loose').rule, 2);
  });

  test('a manifest shared by two indexes is kept while either is kept', () => {
    const shared = (): ImageInfo => named('shared', [], 30);
    const indexes = (keepNewer: boolean): ImageInfo[] => [
      named('old-index', ['old'], 20, { children: [digestOf('shared')] }),
      named('new-index', [keepNewer ? 'keep' : 'new'], 10, { children: [digestOf('shared')] }),
    ];
    const policy = { rules: [countRule(1, 1, { tagStatus: 'tagged', tagPatternList: ['keep'] }), ageRule(2, 5, { tagStatus: 'any' })] };
    assert.deepEqual(plan(policy, [shared(), ...indexes(true)]).expired, ['old-index']);
    const bothExpired = plan(policy, [shared(), ...indexes(false)]);
    assert.deepEqual(bothExpired.expired, ['new-index', 'old-index', 'shared']);
    assert.match(bothExpired.entry('shared').reason, /^child of index sha256:[0-9a-f]{12}, which is expired \(and 1 more, all expired\)$/);
  });

  test('a referrer of a platform manifest follows the manifest, which follows its index', () => {
    const images = [
      named('index', ['old'], 20, { children: [digestOf('amd64')] }),
      named('amd64', [], 20),
      named('attestation', [], 20, { subject: digestOf('amd64') }),
      named('newer', ['new'], 1),
    ];
    const p = plan({ rules: [countRule(1, 1, { tagStatus: 'any' })] }, images);
    assert.deepEqual(p.expired, ['amd64', 'attestation', 'index']);
    assert.equal(p.entry('attestation').rule, 1);
  });
});
