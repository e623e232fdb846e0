import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidVersion } from './index.js';
import { comparePep440Versions, pep440VersionProblem } from './pep440.js';
import { assertAntisymmetric, assertOrder, readVectorJson } from './test-vectors.js';

/*
 * Vectors: Python packaging's tests/test_version.py: VERSIONS ("This list must
 * be in the correct sorting order"), the invalid versions, and the normalised
 * spellings (a version equals its normal form). See test/fixtures/versions/README.md.
 */

const v = readVectorJson<{ ordered: string[]; invalid: string[]; equal: [string, string][] }>('pep440-packaging.json');

describe('PEP 440 versions (PyPI)', () => {
  test(`VERSIONS: all ${v.ordered.length} versions are in increasing order, every pair`, () => {
    assert.equal(v.ordered.length, 92);
    for (let i = 0; i < v.ordered.length; i++) {
      for (let j = 0; j < v.ordered.length; j++) {
        assert.equal(Math.sign(comparePep440Versions(v.ordered[i] as string, v.ordered[j] as string)), Math.sign(i - j), `${v.ordered[i]} vs ${v.ordered[j]}`);
      }
    }
  });

  test('a version equals its normalised form', () => {
    for (const [a, b] of v.equal) assertOrder(comparePep440Versions, a, b, 0);
  });

  test('refuses the invalid versions', () => {
    for (const s of v.invalid) assert.equal(isValidVersion('pep440', s), false, JSON.stringify(s));
    for (const s of v.ordered) assert.equal(pep440VersionProblem(s), undefined, s);
  });

  test('refuses what @renovatebot/pep440 would compare wrongly', () => {
    assert.match(pep440VersionProblem('1.99999999999999999') ?? '', /too large/);
    assert.match(pep440VersionProblem('1.0+99999999999999999') ?? '', /too large/);
    assert.match(pep440VersionProblem('1.0+1e5') ?? '', /as a number/);
    assert.match(pep440VersionProblem('1.0+abc.0x1f') ?? '', /as a number/);
    assert.equal(pep440VersionProblem('1.0+abc99999999999999999'), undefined); // text, not a number
  });

  test('is antisymmetric over every version in the vectors', () => {
    assertAntisymmetric(comparePep440Versions, [...v.ordered, ...v.equal.flat()]);
  });
});
