import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { immutableRule, parseImmutabilityRules } from './immutability.js';
import { LifecyclePolicyError } from './policy.js';

/*
 * Expected values are worked out by hand from the rule "immutable when some rule's tagPatternList
 * matches and none of that rule's excludeTagPatternList does", with ECR wildcard semantics
 * ("*" matches any run of characters; the whole tag must match).
 */

function refuses(input: unknown, field: string, problem: RegExp): void {
  assert.throws(
    () => parseImmutabilityRules(input),
    (err: unknown) => {
      assert.ok(err instanceof LifecyclePolicyError, String(err));
      assert.equal(err.field, field);
      assert.equal(err.rulePriority, undefined);
      assert.ok(err.message.includes(field), err.message);
      const index = /^rules\[(\d+)\]/.exec(field)?.[1];
      if (index !== undefined) assert.ok(err.message.startsWith(`immutability rule rules[${index}]:`), err.message);
      assert.match(err.message, problem);
      return true;
    },
  );
}

describe('immutableRule', () => {
  test('every tag but latest: {"tagPatternList":["*"],"excludeTagPatternList":["latest"]}', () => {
    const rules = parseImmutabilityRules({ rules: [{ tagPatternList: ['*'], excludeTagPatternList: ['latest'] }] });
    for (const tag of ['v1', '1.0.0', 'latest-1', 'Latest', 'x']) {
      assert.deepEqual(immutableRule(rules, tag), { index: 0, description: null, pattern: '*' }, tag);
    }
    assert.equal(immutableRule(rules, 'latest'), undefined);
  });

  test('the first rule that makes the tag immutable is reported, with its matching pattern', () => {
    const rules = parseImmutabilityRules({
      rules: [
        { description: 'releases', tagPatternList: ['dev*', 'v*'], excludeTagPatternList: ['*-rc*', '*-SNAPSHOT'] },
        { description: 'release candidates stay put too', tagPatternList: ['v*-rc*'] },
      ],
    });
    assert.deepEqual(immutableRule(rules, 'v1.2.0'), { index: 0, description: 'releases', pattern: 'v*' });
    assert.deepEqual(immutableRule(rules, 'dev-7'), { index: 0, description: 'releases', pattern: 'dev*' });
    // Excluded by rule 0, but rule 1 matches on its own.
    assert.deepEqual(immutableRule(rules, 'v1.2.0-rc1'), { index: 1, description: 'release candidates stay put too', pattern: 'v*-rc*' });
    assert.equal(immutableRule(rules, 'v1.2.0-SNAPSHOT'), undefined);
    assert.equal(immutableRule(rules, 'main'), undefined);
  });

  test('no rules: every tag may move', () => {
    assert.equal(immutableRule(parseImmutabilityRules({ rules: [] }), 'v1'), undefined);
  });
});

describe('parseImmutabilityRules', () => {
  test('returns the document with the fields it knows', () => {
    const doc = { rules: [{ description: 'd', tagPatternList: ['v*'], excludeTagPatternList: [] }, { tagPatternList: ['*'] }] };
    assert.deepEqual(parseImmutabilityRules(doc), doc);
  });

  test('refuses invalid documents, naming the rule index and field', () => {
    refuses(null, '', /must be a JSON object/);
    refuses({ rules: [], mode: 'IMMUTABLE' }, 'mode', /not a field/);
    refuses({}, 'rules', /must be an array/);
    refuses({ rules: ['*'] }, 'rules[0]', /must be an object/);
    refuses({ rules: [{ tagPatternList: ['*'] }, { tagPatterns: ['*'] }] }, 'rules[1].tagPatterns', /not a rule field/);
    refuses({ rules: [{ excludeTagPatternList: ['latest'] }] }, 'rules[0].tagPatternList', /is required/);
    refuses({ rules: [{ tagPatternList: [] }] }, 'rules[0].tagPatternList', /must not be empty/);
    refuses({ rules: [{ tagPatternList: '*' }] }, 'rules[0].tagPatternList', /array of strings/);
    refuses({ rules: [{ tagPatternList: ['*', 3] }] }, 'rules[0].tagPatternList[1]', /must be a string/);
    refuses({ rules: [{ tagPatternList: ['a*b*c*d*e*f'] }] }, 'rules[0].tagPatternList[0]', /5 wildcards/);
    refuses({ rules: [{ tagPatternList: ['*'], excludeTagPatternList: ['release/*'] }] }, 'rules[0].excludeTagPatternList[0]', /cannot occur in a tag/);
    refuses({ rules: [{ tagPatternList: ['*'], excludeTagPatternList: 'latest' }] }, 'rules[0].excludeTagPatternList', /array of strings/);
    refuses({ rules: [{ tagPatternList: ['*'], description: ['x'] }] }, 'rules[0].description', /must be a string/);
  });
});
