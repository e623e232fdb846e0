import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LifecyclePolicyError, parseLifecyclePolicy } from './policy.js';

/*
 * The accepted documents are the examples of the Amazon ECR User Guide, copied as data:
 *  - https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html (current)
 *  - the earlier tagPrefixList versions of the same examples, from the archived guide
 *    https://github.com/awsdocs/amazon-ecr-user-guide/blob/master/doc_source/lifecycle_policy_examples.md
 * The refusals follow https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 * and the evaluation rules in LifecyclePolicies.html (quoted in policy.ts).
 */

type Json = Record<string, unknown>;
const expire = { type: 'expire' };
const ecrRule = (rulePriority: number, selection: Json, description = `Rule ${rulePriority}`): Json => ({
  rulePriority,
  description,
  selection,
  action: expire,
});

const ECR_EXAMPLES: Record<string, Json> = {
  'filtering on image age': {
    rules: [ecrRule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, 'Expire images older than 14 days')],
  },
  'filtering on image age (archived: untagged)': {
    rules: [ecrRule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, 'Expire images older than 14 days')],
  },
  'filtering on image count': {
    rules: [ecrRule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, 'Keep only one untagged image, expire all others')],
  },
  'multiple rules, example A': {
    rules: [
      ecrRule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      ecrRule(2, { tagStatus: 'tagged', tagPatternList: ['beta*'], countType: 'imageCountMoreThan', countNumber: 1 }),
    ],
  },
  'multiple rules, example A (archived: tagPrefixList)': {
    rules: [
      ecrRule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }),
      ecrRule(2, { tagStatus: 'tagged', tagPrefixList: ['beta'], countType: 'imageCountMoreThan', countNumber: 1 }),
    ],
  },
  'multiple tags in a single rule, example A': {
    rules: [ecrRule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' })],
  },
  'multiple tags in a single rule, example B (archived: tagPrefixList)': {
    rules: [ecrRule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'imageCountMoreThan', countNumber: 1 })],
  },
  'all images, example A': {
    rules: [ecrRule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })],
  },
  'all images, example B': {
    rules: [
      ecrRule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      ecrRule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      ecrRule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    ],
  },
};

/** A valid one-rule policy with some fields replaced; `undefined` removes a field. */
function policy(rule: Json = {}, selection: Json = {}, more: Json[] = []): unknown {
  const base = { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1, ...selection }, action: expire, ...rule };
  return JSON.parse(JSON.stringify({ rules: [base, ...more] }));
}

/** The refusal must be a LifecyclePolicyError naming the field, and the rule by index and rulePriority. */
function refuses(input: unknown, field: string, rulePriority: number | undefined, problem: RegExp): void {
  assert.throws(
    () => parseLifecyclePolicy(input),
    (err: unknown) => {
      assert.ok(err instanceof LifecyclePolicyError, String(err));
      assert.equal(err.field, field);
      assert.equal(err.rulePriority, rulePriority);
      assert.ok(err.message.includes(field), `message names the field ${field}: ${err.message}`);
      const index = /^rules\[(\d+)\]/.exec(field)?.[1];
      if (index !== undefined) assert.ok(err.message.includes(`rules[${index}]`), err.message);
      if (rulePriority !== undefined) assert.ok(err.message.includes(`rulePriority ${rulePriority}`), err.message);
      assert.match(err.message, problem);
      return true;
    },
  );
}

describe('parseLifecyclePolicy accepts Amazon ECR documents verbatim', () => {
  for (const [name, doc] of Object.entries(ECR_EXAMPLES)) {
    test(name, () => assert.deepEqual(parseLifecyclePolicy(doc), doc));
  }

  test('the JSON text of a policy, as PutLifecyclePolicy takes it', () => {
    const doc = ECR_EXAMPLES['all images, example B'];
    assert.deepEqual(parseLifecyclePolicy(JSON.stringify(doc, null, 2)), doc);
  });

  test('storageClass "standard" (ECR: the only value for these count types) is accepted and dropped', () => {
    assert.deepEqual(parseLifecyclePolicy(policy({}, { storageClass: 'standard' })), policy());
  });

  test('rule priorities need not be sequential, and rules may come in any order', () => {
    const doc = {
      rules: [
        ecrRule(100, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 42 }),
        ecrRule(10, { tagStatus: 'tagged', tagPrefixList: ['16.'], countType: 'imageCountMoreThan', countNumber: 9999 }),
      ],
    };
    assert.deepEqual(parseLifecyclePolicy(doc), doc);
  });

  test('berth extensions: sinceImagePulled, orderBy "pulled", tagPatternType "regex"', () => {
    const doc = {
      rules: [
        ecrRule(1, { tagStatus: 'tagged', tagPatternList: ['v\\d+\\.\\d+'], tagPatternType: 'regex', countType: 'imageCountMoreThan', countNumber: 5, orderBy: 'pulled' }),
        ecrRule(2, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }),
      ],
    };
    assert.deepEqual(parseLifecyclePolicy(doc), doc);
  });
});

describe('parseLifecyclePolicy refuses invalid documents, naming the rule and field', () => {
  test('the document itself', () => {
    refuses([], '', undefined, /must be a JSON object/);
    refuses('{"rules": [', '', undefined, /not valid JSON/);
    refuses(`{"rules": [], "pad": "${'x'.repeat(30720)}"}`, '', undefined, /longer than 30720/);
    refuses({ rules: [], version: 1 }, 'version', undefined, /not a lifecycle policy field/);
    refuses({}, 'rules', undefined, /must be an array/);
    refuses({ rules: [] }, 'rules', undefined, /at least one rule/);
    const many = Array.from({ length: 51 }, (_, i) => ecrRule(i + 1, { tagStatus: 'tagged', tagPrefixList: [`p${i}`], countType: 'imageCountMoreThan', countNumber: 1 }));
    refuses({ rules: many }, 'rules', undefined, /51 rules; at most 50/);
  });

  test('rulePriority', () => {
    refuses({ rules: ['x'] }, 'rules[0]', undefined, /must be an object/);
    refuses(policy({ rulePriority: undefined }), 'rules[0].rulePriority', undefined, /is required/);
    refuses(policy({ rulePriority: 0 }), 'rules[0].rulePriority', undefined, /positive integer, not 0/);
    refuses(policy({ rulePriority: 1.5 }), 'rules[0].rulePriority', undefined, /positive integer, not 1.5/);
    refuses(policy({ rulePriority: '1' }), 'rules[0].rulePriority', undefined, /positive integer, not "1"/);
    const tagged = { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['a'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire };
    refuses(policy({ rulePriority: 1 }, {}, [tagged]), 'rules[1].rulePriority', 1, /already used by rules\[0\]/);
  });

  test('rule fields', () => {
    refuses(policy({ rulePriority: 3, enabled: true }), 'rules[0].enabled', 3, /not a rule field/);
    refuses(policy({ rulePriority: 3, description: 7 }), 'rules[0].description', 3, /must be a string/);
    refuses(policy({ rulePriority: 3, selection: undefined }), 'rules[0].selection', 3, /is required/);
    refuses(policy({ rulePriority: 3, action: undefined }), 'rules[0].action', 3, /is required/);
    refuses(policy({ rulePriority: 3, action: { type: 'transition', targetStorageClass: 'archive' } }), 'rules[0].action.targetStorageClass', 3, /not supported/);
    refuses(policy({ rulePriority: 3, action: { type: 'transition' } }), 'rules[0].action.type', 3, /must be "expire", not "transition"/);
    refuses(policy({ rulePriority: 3, action: { type: 'delete' } }), 'rules[0].action.type', 3, /must be "expire"/);
  });

  test('tagStatus and the tag lists', () => {
    refuses(policy({ rulePriority: 2 }, { tagStatus: undefined }), 'rules[0].selection.tagStatus', 2, /is required/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'TAGGED' }), 'rules[0].selection.tagStatus', 2, /not "TAGGED"/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged' }), 'rules[0].selection.tagPatternList', 2, /or tagPrefixList is required/);
    refuses(policy({ rulePriority: 2 }, { tagPrefixList: ['v'] }), 'rules[0].selection.tagPrefixList', 2, /only allowed with tagStatus "tagged", not "untagged"/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'any', tagPatternList: ['v*'] }), 'rules[0].selection.tagPatternList', 2, /only allowed with tagStatus "tagged", not "any"/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPrefixList: ['v'], tagPatternList: ['v*'] }), 'rules[0].selection.tagPatternList', 2, /not both|together with tagPrefixList/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPrefixList: [] }), 'rules[0].selection.tagPrefixList', 2, /must not be empty/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPrefixList: 'v' }), 'rules[0].selection.tagPrefixList', 2, /array of strings/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPrefixList: ['v', 1] }), 'rules[0].selection.tagPrefixList[1]', 2, /must be a string/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPrefixList: ['prod*'] }), 'rules[0].selection.tagPrefixList[0]', 2, /not a tag prefix/);
    // lifecycle_policy_parameters.html: ["test*1*2*3*4*5*6"] is invalid.
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPatternList: ['ok*', 'test*1*2*3*4*5*6'] }), 'rules[0].selection.tagPatternList[1]', 2, /6 wildcards/);
    refuses(policy({ rulePriority: 2 }, { tagStatus: 'tagged', tagPatternList: ['git hash'] }), 'rules[0].selection.tagPatternList[0]', 2, /cannot occur in a tag/);
  });

  test('tagPatternType (berth extension)', () => {
    refuses(policy({ rulePriority: 4 }, { tagStatus: 'tagged', tagPatternList: ['v(\\d+'], tagPatternType: 'regex' }), 'rules[0].selection.tagPatternList[0]', 4, /not a valid regular expression/);
    refuses(policy({ rulePriority: 4 }, { tagStatus: 'tagged', tagPatternList: ['a'.repeat(257)], tagPatternType: 'regex' }), 'rules[0].selection.tagPatternList[0]', 4, /longer than 256/);
    refuses(policy({ rulePriority: 4 }, { tagStatus: 'tagged', tagPatternList: ['v*'], tagPatternType: 'glob' }), 'rules[0].selection.tagPatternType', 4, /"wildcard" or "regex"/);
    refuses(policy({ rulePriority: 4 }, { tagStatus: 'tagged', tagPrefixList: ['v'], tagPatternType: 'regex' }), 'rules[0].selection.tagPatternType', 4, /only allowed together with tagPatternList/);
  });

  test('countType, countUnit, countNumber, orderBy', () => {
    refuses(policy({ rulePriority: 5 }, { countType: undefined }), 'rules[0].selection.countType', 5, /is required/);
    refuses(policy({ rulePriority: 5 }, { countType: 'sinceImageTransitioned', countUnit: 'days' }), 'rules[0].selection.countType', 5, /not "sinceImageTransitioned"/);
    // "an error will occur if you specify a count unit when countType is any other value"
    refuses(policy({ rulePriority: 5 }, { countUnit: 'days' }), 'rules[0].selection.countUnit', 5, /must be omitted when countType is "imageCountMoreThan"/);
    refuses(policy({ rulePriority: 5 }, { countType: 'sinceImagePushed' }), 'rules[0].selection.countUnit', 5, /is required \("days"\)/);
    refuses(policy({ rulePriority: 5 }, { countType: 'sinceImagePulled' }), 'rules[0].selection.countUnit', 5, /is required \("days"\)/);
    refuses(policy({ rulePriority: 5 }, { countType: 'sinceImagePushed', countUnit: 'hours' }), 'rules[0].selection.countUnit', 5, /must be "days", not "hours"/);
    // "Acceptable values are positive integers (0 is not an accepted value)."
    refuses(policy({ rulePriority: 5 }, { countNumber: 0 }), 'rules[0].selection.countNumber', 5, /positive integer/);
    refuses(policy({ rulePriority: 5 }, { countNumber: -3 }), 'rules[0].selection.countNumber', 5, /positive integer/);
    refuses(policy({ rulePriority: 5 }, { countNumber: 2.5 }), 'rules[0].selection.countNumber', 5, /positive integer/);
    refuses(policy({ rulePriority: 5 }, { countNumber: '10' }), 'rules[0].selection.countNumber', 5, /positive integer/);
    refuses(policy({ rulePriority: 5 }, { countNumber: undefined }), 'rules[0].selection.countNumber', 5, /is required/);
    refuses(policy({ rulePriority: 5 }, { countType: 'sinceImagePushed', countUnit: 'days', orderBy: 'pulled' }), 'rules[0].selection.orderBy', 5, /only allowed when countType is "imageCountMoreThan"/);
    refuses(policy({ rulePriority: 5 }, { orderBy: 'size' }), 'rules[0].selection.orderBy', 5, /"pushed" or "pulled"/);
    refuses(policy({ rulePriority: 5 }, { storageClass: 'archive' }), 'rules[0].selection.storageClass', 5, /must be "standard"/);
    refuses(policy({ rulePriority: 5 }, { tagPrefix: 'v' }), 'rules[0].selection.tagPrefix', 5, /not a selection field/);
  });

  test('rules across the policy', () => {
    const tagged = (rulePriority: number, list: Json): Json => ({ rulePriority, selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1, ...list }, action: expire });
    const any = (rulePriority: number): Json => ({ rulePriority, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire });
    // "A rule with a tagStatus value of any must have the highest value for rulePriority"
    refuses({ rules: [any(5), tagged(9, { tagPrefixList: ['v'] })] }, 'rules[0].selection.tagStatus', 5, /highest rulePriority/);
    assert.doesNotThrow(() => parseLifecyclePolicy({ rules: [any(10), tagged(9, { tagPrefixList: ['v'] })] }));
    // "Only one rule is allowed to select untagged images."
    refuses(policy({ rulePriority: 1 }, {}, [{ rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: expire }]),
      'rules[1].selection.tagStatus', 2, /only one rule may select untagged images/);
    // "The set of rules must contain a unique set of tag prefixes."
    refuses({ rules: [tagged(1, { tagPrefixList: ['a', 'b'] }), tagged(2, { tagPrefixList: ['b', 'a'] })] }, 'rules[1].selection.tagPrefixList', 2, /same set of tags as rules\[0\]/);
    refuses({ rules: [tagged(1, { tagPatternList: ['v*'] }), tagged(2, { tagPatternList: ['v*'] })] }, 'rules[1].selection.tagPatternList', 2, /same set of tags/);
    assert.doesNotThrow(() => parseLifecyclePolicy({ rules: [tagged(1, { tagPrefixList: ['v'] }), tagged(2, { tagPatternList: ['v'] })] }));
    assert.doesNotThrow(() => parseLifecyclePolicy({ rules: [tagged(1, { tagPrefixList: ['a'] }), tagged(2, { tagPrefixList: ['a', 'b'] })] }));
  });
});
