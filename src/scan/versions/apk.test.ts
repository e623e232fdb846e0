import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apkVersionProblem, compareApkVersions } from './apk.js';
import { assertAntisymmetric, assertOrder, readVectorText } from './test-vectors.js';

/*
 * Vectors: apk-tools' own test/version.data (`a < b`, `a = b`, `a > b`), and
 * the newer rows of apk-tools' version test data (leading zeros, commit hashes,
 * validity: `version` is valid, `!version` is not). See test/fixtures/versions/README.md.
 */

const OPS: Readonly<Record<string, number>> = { '<': -1, '=': 0, '>': 1 };

interface Rows {
  comparisons: [string, string, number][];
  valid: string[];
  invalid: string[];
}

function readRows(name: string): Rows {
  const rows: Rows = { comparisons: [], valid: [], invalid: [] };
  for (const raw of readVectorText(name).split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const fields = line.split(/\s+/);
    if (fields.length === 3) {
      const [a, op, b] = fields as [string, string, string];
      const sign = OPS[op];
      assert.notEqual(sign, undefined, `unknown operator in ${JSON.stringify(raw)}`);
      rows.comparisons.push([a, b, sign as number]);
    } else if (line.startsWith('!')) {
      rows.invalid.push(line.slice(1));
    } else if (line !== '') {
      rows.valid.push(line);
    }
  }
  return rows;
}

const classic = readRows('apk-version.data');
const newer = readRows('apk-version-extra.data');

describe('apk versions (apk-tools)', () => {
  test(`orders all ${classic.comparisons.length} rows of apk-tools test/version.data`, () => {
    assert.ok(classic.comparisons.length > 700);
    for (const [a, b, sign] of classic.comparisons) assertOrder(compareApkVersions, a, b, sign);
  });

  test('orders the newer rows: leading-zero digits as text, commit hashes, revisions after hashes', () => {
    assert.equal(newer.comparisons.length, 5);
    for (const [a, b, sign] of newer.comparisons) assertOrder(compareApkVersions, a, b, sign);
  });

  test('accepts and refuses versions as apk_version_validate does', () => {
    assert.equal(newer.valid.length, 6);
    assert.equal(newer.invalid.length, 25);
    for (const v of newer.valid) assert.equal(apkVersionProblem(v), undefined, v);
    for (const v of newer.invalid) assert.notEqual(apkVersionProblem(v), undefined, JSON.stringify(v));
  });

  test('the vectors comparing invalid versions (23_foo, 1.0bc) are invalid, as their comment says', () => {
    assert.notEqual(apkVersionProblem('23_foo'), undefined);
    assert.notEqual(apkVersionProblem('1.0bc'), undefined);
    assert.match(apkVersionProblem('1.0_foo') ?? '', /unexpected "_foo" at offset 3/);
  });

  test('is antisymmetric over every version in the vectors', () => {
    const all = [...classic.comparisons, ...newer.comparisons].flatMap(([a, b]) => [a, b]);
    assertAntisymmetric(compareApkVersions, [...all, ...newer.valid]);
  });
});
