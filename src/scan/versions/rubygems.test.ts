import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidVersion } from './index.js';
import { compareRubygemsVersions, rubygemsVersionProblem } from './rubygems.js';
import { assertAntisymmetric, assertOrder, readVectorJson } from './test-vectors.js';

/*
 * Vectors: RubyGems' test/rubygems/test_gem_version.rb: test_spaceship
 * (<=> results), assert_version_equal / refute_version_equal pairs,
 * assert_less_than pairs (test_semver, test_frozen_version), and the versions
 * Gem::Version refuses; plus outputs of RubyGems 3.3.15's <=> (hyphens,
 * zero segments, later upstream test rows). See test/fixtures/versions/README.md.
 */

interface GemVectors {
  spaceship: [string, string, number][];
  equal: [string, string][];
  notEqual: [string, string][];
  less: [string, string][];
  valid: string[];
  invalid: string[];
}
const v = readVectorJson<GemVectors>('rubygems-version.json');
const outputs = readVectorJson<{ compare: [string, string, number][] }>('rubygems-ruby-outputs.json');

describe('RubyGems versions (Gem::Version)', () => {
  test('test_spaceship', () => {
    for (const [a, b, r] of v.spaceship) assertOrder(compareRubygemsVersions, a, b, r);
  });

  test('assert_version_equal and refute_version_equal', () => {
    for (const [a, b] of v.equal) assertOrder(compareRubygemsVersions, a, b, 0);
    for (const [a, b] of v.notEqual) assert.notEqual(compareRubygemsVersions(a, b), 0, `${a} vs ${b}`);
  });

  test('assert_less_than', () => {
    for (const [a, b] of v.less) assertOrder(compareRubygemsVersions, a, b, -1);
  });

  test('RubyGems 3.3.15 outputs', () => {
    assert.equal(outputs.compare.length, 20);
    for (const [a, b, r] of outputs.compare) assertOrder(compareRubygemsVersions, a, b, r);
  });

  test('Gem::Version.correct? and the malformed version strings', () => {
    for (const s of v.valid) assert.equal(rubygemsVersionProblem(s), undefined, s);
    for (const s of v.invalid) assert.equal(isValidVersion('rubygems', s), false, JSON.stringify(s));
  });

  test('is antisymmetric over every version in the vectors', () => {
    const pairs = [...[...v.spaceship, ...outputs.compare].map(([a, b]) => [a, b]), ...v.equal, ...v.notEqual, ...v.less];
    assertAntisymmetric(compareRubygemsVersions, pairs.flat());
  });
});
