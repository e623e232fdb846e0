import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileRegex,
  compileTagPattern,
  compileWildcard,
  MAX_REGEX_PATTERN_LENGTH,
  TagPatternError,
} from './tag-pattern.js';

/*
 * Expected values come from the Amazon ECR documentation (quoted below), and otherwise from
 * JavaScript's own RegExp used as an independent oracle: a wildcard pattern is the regular
 * expression ^piece.*piece...$ with the pieces escaped, and a berth regex must agree with
 * new RegExp(`^(?:${source})$`) on every pattern it accepts.
 */

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
const wildcardOracle = (pattern: string): RegExp => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);

describe('wildcard patterns (Amazon ECR)', () => {
  test('ECR: "prod*" matches tags that begin with prod, "*prod*" tags that contain it', () => {
    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules:
    // "prod* ... would match image-tags whose name begins with prod such as prod, prod1, or
    // production-team1. Similarly, if a filter of *prod* is applied, it would match image-tags whose
    // name contains prod such as repo-production or prod-team."
    const prefix = compileWildcard('prod*');
    for (const tag of ['prod', 'prod1', 'production-team1']) assert.equal(prefix.matches(tag), true, tag);
    for (const tag of ['repo-production', 'pro', 'Prod', 'dev']) assert.equal(prefix.matches(tag), false, tag);
    const contains = compileWildcard('*prod*');
    for (const tag of ['repo-production', 'prod-team', 'prod']) assert.equal(contains.matches(tag), true, tag);
    assert.equal(contains.matches('pro-d'), false);
  });

  test('ECR: at most four wildcards per string', () => {
    // lifecycle_policy_parameters.html: "[\"*test*1*2*3\", \"test*1*2*3*\"] is valid but [\"test*1*2*3*4*5*6\"] is invalid."
    assert.equal(compileWildcard('*test*1*2*3').matches('a-test-1-2-3'), true);
    assert.equal(compileWildcard('test*1*2*3*').matches('test1x2y3z'), true);
    assert.throws(() => compileWildcard('test*1*2*3*4*5*6'), (err: unknown) => {
      assert.ok(err instanceof TagPatternError);
      assert.match(err.message, /6 wildcards/);
      assert.equal(err.pattern, 'test*1*2*3*4*5*6');
      return true;
    });
    assert.throws(() => compileWildcard('*****'), /5 wildcards/);
    assert.doesNotThrow(() => compileWildcard('****'));
  });

  test('without a wildcard the whole tag must be equal', () => {
    const latest = compileWildcard('latest');
    assert.equal(latest.matches('latest'), true);
    assert.equal(latest.matches('latest2'), false);
    assert.equal(latest.matches('alatest'), false);
  });

  test('the fixed pieces may not overlap', () => {
    assert.equal(compileWildcard('a*a').matches('a'), false);
    assert.equal(compileWildcard('a*a').matches('aa'), true);
    assert.equal(compileWildcard('ab*ba').matches('aba'), false);
    assert.equal(compileWildcard('ab*ba').matches('abba'), true);
    assert.equal(compileWildcard('*x*x*').matches('x'), false);
  });

  test('agrees with an independent RegExp translation on many patterns and tags', () => {
    const patterns = ['*', 'v*', '*-rc', 'v*.*', '*a*b*', 'a*b*a', '*.*.*', 'release-*-*', '**', 'x*x*x*x', 'latest'];
    const tags = ['', 'v', 'v1', 'v1.2', 'v1.2.3', '1.2.3-rc', 'ab', 'ba', 'aba', 'abab', 'release-1-2', 'release--', 'xxxx', 'xxx', 'latest', 'a.b'];
    for (const p of patterns) {
      const oracle = wildcardOracle(p);
      const compiled = compileWildcard(p);
      for (const tag of tags) assert.equal(compiled.matches(tag), oracle.test(tag), `${p} vs ${JSON.stringify(tag)}`);
    }
  });

  test('refuses empty, overlong and impossible patterns', () => {
    assert.throws(() => compileWildcard(''), /must not be empty/);
    assert.throws(() => compileWildcard('a'.repeat(129)), /longer than 128/);
    assert.doesNotThrow(() => compileWildcard('a'.repeat(128)));
    assert.throws(() => compileWildcard('prod/*'), /contains "\/"/);
    assert.throws(() => compileWildcard('pr?d'), /contains "\?"/);
    assert.throws(() => compileWildcard('git hash'), /contains " "/);
  });

  test('compileTagPattern defaults to wildcard', () => {
    assert.equal(compileTagPattern('v*').type, 'wildcard');
    assert.equal(compileTagPattern('v*').matches('v1'), true);
    assert.equal(compileTagPattern('v.*', 'regex').type, 'regex');
  });
});

describe('regular expressions (berth extension)', () => {
  test('always match the whole tag', () => {
    const semver = compileRegex('v\\d+\\.\\d+\\.\\d+');
    assert.equal(semver.matches('v1.22.333'), true);
    assert.equal(semver.matches('v1.2.3-rc1'), false);
    assert.equal(semver.matches('xv1.2.3'), false);
    assert.equal(compileRegex('^v\\d+$').matches('v12'), true);
    assert.equal(compileRegex('^v\\d+$').matches('v12a'), false);
  });

  test('agree with RegExp on patterns both engines read alike', () => {
    // RE2 and JavaScript share this syntax; the oracle is the platform's own RegExp.
    const patterns = [
      'v\\d+', '^v\\d+$', 'a|b', 'ab|cd|', '(ab)*', '(?:ab)+c?', 'a{2}', 'a{2,}', 'a{1,3}', 'a{0,2}?b', '[a-c]+', '[^a-c]+',
      '[\\d.]+', '[\\w-]+', '\\W', '\\D+', '\\s?x', '[-a]', '[a-]', '.*', '.+-rc\\d*', '(a|ab)(c|bcd)(d*)',
      '(a*)*b?', 'x\\$', 'release-(\\d+)\\.(\\d+)', '[A-Z][a-z]*', '\\.',
    ];
    const tags = ['', 'a', 'b', 'ab', 'abab', 'abc', 'abcd', 'aa', 'aaa', 'aaaa', 'aab', 'cd', 'v1', 'v12', 'v12a', '1.2.3', 'x',
      ' x', 'x$', 'x\\', '-', '_', '-_', 'a-b_c', 'release-1.2', 'Hello', 'HELLO', '1.0-rc', '1.0-rc12', 'abcdd', '.', 'Z'];
    for (const p of patterns) {
      const oracle = new RegExp(`^(?:${p})$`);
      const compiled = compileRegex(p);
      for (const tag of tags) assert.equal(compiled.matches(tag), oracle.test(tag), `/${p}/ vs ${JSON.stringify(tag)}`);
    }
  });

  test('refuses invalid patterns and what RE2 does not support', () => {
    const refused = ['(', 'a)', '[a-', '[z-a]', '*a', 'a**', '(a)\\1', '(?=a)a', '(?!a)b', 'abc\\', '', 'a'.repeat(MAX_REGEX_PATTERN_LENGTH + 1)];
    for (const pattern of refused) {
      assert.throws(() => compileRegex(pattern), TagPatternError, JSON.stringify(pattern.slice(0, 40)));
    }
  });

  test('answers on patterns that make backtracking engines explode', { timeout: 10_000 }, () => {
    // With a backtracking engine each of these takes exponential (or high polynomial) time on a
    // 128-character tag that does not match; RE2 answers at once.
    const cases: Array<[string, string]> = [
      ['(a+)+$', `${'a'.repeat(127)}!`],
      ['(a|a)*b', 'a'.repeat(128)],
      ['(\\d*)*x', '1'.repeat(128)],
      ['\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*x', '1'.repeat(128)],
      ['(.*a){20}', 'a'.repeat(19) + 'b'.repeat(109)],
    ];
    // A backtracking engine would not finish these within the test's timeout; RE2 is linear.
    for (const [pattern, tag] of cases) assert.equal(compileRegex(pattern).matches(tag), false, pattern);
    assert.equal(compileRegex('(a+)+$').matches('a'.repeat(128)), true);
  });
});
