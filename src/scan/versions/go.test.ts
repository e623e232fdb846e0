import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareGoVersions, goVersionProblem } from './go.js';
import { assertAntisymmetric, readVectorJson } from './test-vectors.js';

/*
 * Vectors: golang.org/x/mod v0.7.0 semver/semver_test.go. Its `tests` table is in
 * increasing order; an empty `out` marks an invalid version, equal `out`s
 * (the canonical form) compare equal. See test/fixtures/versions/README.md.
 */

const vectors = readVectorJson<{ tests: [string, string][] }>('go-semver.json');
const valid = vectors.tests.map(([v, out], i) => ({ v, out, i })).filter((t) => t.out !== '');

describe('Go module versions (golang.org/x/mod/semver)', () => {
  test('IsValid: accepts exactly the versions with a canonical form', () => {
    for (const [v, out] of vectors.tests) assert.equal(goVersionProblem(v) === undefined, out !== '', v);
  });

  test('Compare: the table is in increasing order, equal canonical forms compare equal', () => {
    assert.equal(valid.length, 24);
    for (const x of valid) {
      for (const y of valid) {
        const want = x.out === y.out ? 0 : x.i < y.i ? -1 : 1;
        assert.equal(Math.sign(compareGoVersions(x.v, y.v)), want, `${x.v} vs ${y.v}`);
      }
    }
  });

  test('reads versions without the v that OSV writes as if they had it', () => {
    for (const { v } of valid) {
      assert.equal(compareGoVersions(v.slice(1), v), 0, v);
      assert.equal(goVersionProblem(v.slice(1)), undefined, v);
    }
    assert.equal(compareGoVersions('0.0.0-20191109021931-daa7c04131f5', 'v0.0.0'), -1); // a pseudo-version is a pre-release
    assert.equal(compareGoVersions('2.0.0+incompatible', 'v2.0.0'), 0); // build metadata is ignored
  });

  test('is antisymmetric over the valid versions', () => {
    assertAntisymmetric(compareGoVersions, valid.map((t) => t.v));
  });
});
