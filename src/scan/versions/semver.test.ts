import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidVersion } from './index.js';
import { compareSemverVersions, semverVersionProblem } from './semver.js';
import { assertAntisymmetric, assertOrder, readVectorJson } from './test-vectors.js';

/*
 * Vectors: node-semver's test/fixtures (comparisons.js: the first is greater;
 * equality.js: equal, strict-mode rows only; invalid-versions.js), the SemVer
 * 2.0.0 specification's section 11 examples, and the Rust `semver` crate's
 * tests/test_version.rs (orderings without build metadata, refused strings).
 * See test/fixtures/versions/README.md.
 */

interface SemverVectors {
  nodeComparisons: [string, string][];
  nodeEquality: [string, string][];
  nodeInvalid: string[];
  specOrder: string[];
  specMainOrder: string[];
  cargoLess: [string, string][];
  cargoEqual: [string, string][];
  cargoInvalid: string[];
}
const v = readVectorJson<SemverVectors>('semver.json');

function assertIncreasing(list: string[]): void {
  for (let i = 0; i < list.length; i++) {
    for (let j = i; j < list.length; j++) assertOrder(compareSemverVersions, list[i] as string, list[j] as string, i === j ? 0 : -1);
  }
}

describe('SemVer 2.0 precedence (npm, crates.io)', () => {
  test('node-semver comparisons.js: the first version is greater', () => {
    assert.equal(v.nodeComparisons.length, 31);
    for (const [a, b] of v.nodeComparisons) assertOrder(compareSemverVersions, a, b, 1);
  });

  test('node-semver equality.js: build metadata is ignored', () => {
    for (const [a, b] of v.nodeEquality) assertOrder(compareSemverVersions, a, b, 0);
  });

  test('SemVer 2.0.0 section 11 examples are in increasing precedence', () => {
    assertIncreasing(v.specOrder);
    assertIncreasing(v.specMainOrder);
  });

  test('Rust semver crate: orderings without build metadata', () => {
    for (const [a, b] of v.cargoLess) assertOrder(compareSemverVersions, a, b, -1);
    for (const [a, b] of v.cargoEqual) assertOrder(compareSemverVersions, a, b, 0);
  });

  test('refuses what node-semver and the Rust crate refuse', () => {
    for (const s of [...v.nodeInvalid, ...v.cargoInvalid]) assert.equal(isValidVersion('semver', s), false, JSON.stringify(s));
  });

  test('refuses numeric pre-release identifiers node-semver would round', () => {
    assert.match(semverVersionProblem('1.0.0-9007199254740993') ?? '', /too large/);
    assert.equal(semverVersionProblem('1.0.0-9007199254740990'), undefined);
  });

  test('is antisymmetric over every version in the vectors', () => {
    const pairs = [...v.nodeComparisons, ...v.nodeEquality, ...v.cargoLess, ...v.cargoEqual];
    assertAntisymmetric(compareSemverVersions, [...pairs.flat(), ...v.specOrder, ...v.specMainOrder]);
  });
});
