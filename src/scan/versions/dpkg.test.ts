import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDpkgVersions, dpkgVersionProblem } from './dpkg.js';
import { compareVersions, isValidVersion } from './index.js';
import { assertAntisymmetric, assertOrder, readVectorJson, readVectorText } from './test-vectors.js';

/*
 * Vectors: dpkg's scripts/t/Dpkg_Version.t (`a b result`, checked there against
 * Dpkg::Version and `dpkg --compare-versions`) and lib/dpkg/t/t-version.c
 * (parseversion's valid, refused and warned-about strings; object comparisons
 * written as version strings). See test/fixtures/versions/README.md.
 */

const rows = readVectorText('dpkg-version-compare.txt')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [a, b, r] = l.trim().split(/\s+/) as [string, string, string];
    return [a, b, Number(r)] as const;
  });

interface ParseVectors {
  valid: string[];
  validAfterTrimming: string[];
  errors: string[];
  warnings: string[];
  compare: [string, string, number][];
}
const parse = readVectorJson<ParseVectors>('dpkg-parseversion.json');

describe('Debian versions (dpkg)', () => {
  test(`orders all ${rows.length} rows of Dpkg_Version.t`, () => {
    assert.equal(rows.length, 44);
    for (const [a, b, r] of rows) assertOrder(compareDpkgVersions, a, b, r);
  });

  test('compareVersions agrees on the rows whose versions dpkg accepts', () => {
    let checked = 0;
    for (const [a, b, r] of rows) {
      if (!isValidVersion('dpkg', a) || !isValidVersion('dpkg', b)) continue;
      assert.equal(compareVersions('dpkg', a, b), r, `${a} vs ${b}`);
      checked++;
    }
    // -0.6.5 (empty upstream) and 0foo- (empty revision) are refused by dpkg itself.
    assert.equal(checked, 40);
  });

  test("t-version.c: compares parsed versions as dpkg_version_compare does", () => {
    for (const [a, b, r] of parse.compare) assertOrder(compareDpkgVersions, a, b, r);
  });

  test('t-version.c: accepts what parseversion accepts, refuses what it reports as errors', () => {
    for (const v of parse.valid) assert.equal(dpkgVersionProblem(v), undefined, v);
    for (const v of parse.errors) assert.equal(isValidVersion('dpkg', v), false, JSON.stringify(v));
  });

  test('t-version.c: accepts what parseversion only warns about, as dpkg --compare-versions compares it', () => {
    assert.equal(parse.warnings.length, 51);
    for (const v of parse.warnings) assert.equal(isValidVersion('dpkg', v), true, v);
  });

  test('refuses the surrounding whitespace dpkg trims (callers trim)', () => {
    for (const v of parse.validAfterTrimming) assert.equal(isValidVersion('dpkg', v), false, JSON.stringify(v));
  });

  test('is antisymmetric over every version in the vectors', () => {
    const all = [...rows, ...parse.compare].flatMap(([a, b]) => [a, b]);
    assertAntisymmetric(compareDpkgVersions, [...all, ...parse.valid, ...parse.warnings]);
  });
});
