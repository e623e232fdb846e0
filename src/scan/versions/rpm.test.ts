import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRpmVersions, rpmvercmp, rpmVersionProblem } from './rpm.js';
import { assertAntisymmetric, assertOrder, readVectorJson, readVectorText } from './test-vectors.js';

/*
 * Vectors: rpm's tests/rpmvercmp.at (RPMVERCMP(a, b, result), run there through
 * rpm.vercmp), and outputs of rpm 4.18's rpm.ver() comparisons for full
 * epoch:version-release strings. See test/fixtures/versions/README.md.
 */

const rows = readVectorText('rpm-rpmvercmp.txt')
  .split('\n')
  .map((l) => /^RPMVERCMP\((.*), (.*), (-?\d)\)$/.exec(l.trim()))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => [m[1] as string, m[2] as string, Number(m[3])] as const);

const evr = readVectorJson<{ compare: [string, string, number][] }>('rpm-evr-outputs.json');

describe('RPM versions (rpmvercmp, rpmverCmp)', () => {
  test(`orders all ${rows.length} RPMVERCMP rows of tests/rpmvercmp.at`, () => {
    assert.equal(rows.length, 91);
    for (const [a, b, r] of rows) {
      assertOrder(rpmvercmp, a, b, r);
      assertOrder(compareRpmVersions, a, b, r); // no ':' or '-' in these rows: the version alone decides
    }
  });

  test('orders epoch:version-release strings as rpm.ver() does', () => {
    assert.ok(evr.compare.length >= 20);
    for (const [a, b, r] of evr.compare) assertOrder(compareRpmVersions, a, b, r);
  });

  test('accepts [epoch:]version[-release] with the characters rpmbuild allows', () => {
    for (const v of ['1.0', '1:2.3-4.el9', '0:1.2.3-150400.4.5.1', '1.0~rc1^git1-2.fc40', '2_0']) {
      assert.equal(rpmVersionProblem(v), undefined, v);
    }
    for (const v of ['a:1.0', ':1.0', '1.0-', '-1', '1.0-2-3', '1.0/2', '1.0:2']) {
      assert.notEqual(rpmVersionProblem(v), undefined, v);
    }
  });

  test('is antisymmetric over every version in the vectors', () => {
    assertAntisymmetric(compareRpmVersions, [...rows, ...evr.compare].flatMap(([a, b]) => [a, b]));
  });
});
