import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareMavenVersions, mavenVersionProblem } from './maven.js';
import { assertAntisymmetric, assertOrder, readVectorJson } from './test-vectors.js';

/*
 * Vectors: Maven's ComparableVersionTest.java (maven-artifact): increasing
 * lists (every pair), equal and "same order" pairs, groups of equal versions
 * and ordered pairs, including the MNG-5568, MNG-6572, MNG-6964, MNG-7644 and
 * MNG-7714 cases and the non-ASCII ones. See test/fixtures/versions/README.md.
 */

interface MavenVectors {
  ordered: string[][];
  equal: [string, string][];
  sameOrder: [string, string][];
  equalGroups: string[][];
  less: [string, string][];
}
const v = readVectorJson<MavenVectors>('maven-comparable-version.json');

describe('Maven versions (ComparableVersion)', () => {
  test('VERSIONS_QUALIFIER and VERSIONS_NUMBER are in increasing order, every pair', () => {
    assert.deepEqual(
      v.ordered.map((l) => l.length),
      [22, 24],
    );
    for (const list of v.ordered) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i; j < list.length; j++) assertOrder(compareMavenVersions, list[i] as string, list[j] as string, i === j ? 0 : -1);
      }
    }
  });

  test('checkVersionsEqual and checkVersionsHaveSameOrder pairs compare equal', () => {
    for (const [a, b] of [...v.equal, ...v.sameOrder]) assertOrder(compareMavenVersions, a, b, 0);
  });

  test('leading zeros: every version of a group equals every other', () => {
    for (const group of v.equalGroups) {
      for (const a of group) for (const b of group) assert.equal(compareMavenVersions(a, b), 0, `${a} vs ${b}`);
    }
  });

  test('checkVersionsOrder pairs: the first is lower', () => {
    assert.equal(v.less.length, 56);
    for (const [a, b] of v.less) assertOrder(compareMavenVersions, a, b, -1);
  });

  test('every string is a Maven version, except non-ASCII digits Java would read as numbers', () => {
    for (const list of [...v.ordered, ...v.equalGroups, ...v.equal, ...v.less]) {
      for (const s of list) assert.equal(mavenVersionProblem(s), undefined, s);
    }
    assert.match(mavenVersionProblem('1-x\u06681') ?? '', /non-ASCII digit/);
    assert.match(mavenVersionProblem('1.x-\u0668') ?? '', /non-ASCII digit/);
  });

  test('qualifiers named like Object properties are ordinary text', () => {
    for (const q of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(mavenVersionProblem(`1-${q}1`), undefined, q);
      assert.equal(compareMavenVersions(`1-${q}1`, `1-${q}1`), 0, q);
    }
  });

  test('is antisymmetric over every version in the vectors', () => {
    assertAntisymmetric(compareMavenVersions, [...v.ordered, ...v.equal, ...v.sameOrder, ...v.equalGroups, ...v.less].flat());
  });
});
