import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OsvAffected, OsvEvent } from './osv.js';
import { evaluateAffected, type AffectedVerdict } from './ranges.js';

const semver = (events: OsvEvent[], versions?: string[]): OsvAffected => ({
  package: { ecosystem: 'npm', name: 'x' },
  ranges: [{ type: 'SEMVER', events }],
  versions,
});

function check(entry: OsvAffected, cases: [string, AffectedVerdict][], ecosystem = 'npm') {
  for (const [version, expected] of cases) {
    const warnings: string[] = [];
    assert.deepEqual(evaluateAffected(entry, ecosystem, version, (m) => warnings.push(m)), expected, version);
    assert.deepEqual(warnings, [], version);
  }
}

// The examples of osv-schema "Examples" under affected[].ranges, with their stated meaning.
test('unfixed: every version is affected', () => {
  check(semver([{ introduced: '0' }]), [
    ['0.0.1', { affected: true, fixed: undefined }],
    ['99.0.0', { affected: true, fixed: undefined }],
  ]);
});

test('fixed: everything before 1.0.2, and 1.0.2 itself is not', () => {
  check(semver([{ introduced: '0' }, { fixed: '1.0.2' }]), [
    ['1.0.1', { affected: true, fixed: '1.0.2' }],
    ['1.0.2', { affected: false }],
    ['1.0.3', { affected: false }],
  ]);
});

test('multiple ranges: [1.0.0, 1.0.2) and [3.0.0, 3.2.5), events in any order', () => {
  const cases: [string, AffectedVerdict][] = [
    ['0.9.9', { affected: false }],
    ['1.0.0', { affected: true, fixed: '1.0.2' }],
    ['1.0.2', { affected: false }],
    ['2.9.9', { affected: false }],
    ['3.0.0', { affected: true, fixed: '3.2.5' }],
    ['3.2.4', { affected: true, fixed: '3.2.5' }],
    ['3.2.5', { affected: false }],
  ];
  check(semver([{ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }]), cases);
  check(semver([{ fixed: '3.2.5' }, { introduced: '3.0.0' }, { fixed: '1.0.2' }, { introduced: '1.0.0' }]), cases);
});

test('last_affected is the last affected version, inclusive', () => {
  check(
    { package: { ecosystem: 'Maven', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '2.1.214' }] }] },
    [
      ['2.1.214', { affected: true, fixed: undefined }],
      ['2.1.215', { affected: false }],
    ],
    'Maven',
  );
});

test('limit bounds the range from above; a "*" limit is infinity', () => {
  check(semver([{ introduced: '0' }, { limit: '2.0.0' }]), [
    ['1.9.9', { affected: true, fixed: undefined }],
    ['2.0.0', { affected: false }],
  ]);
  check(semver([{ introduced: '1.0.0' }, { limit: '*' }]), [['5.0.0', { affected: true, fixed: undefined }]]);
});

test('the lowest fix above the version is reported', () => {
  check(semver([{ introduced: '0' }, { fixed: '2.2.5' }, { introduced: '2.3.0' }, { fixed: '2.3.2' }]), [
    ['2.2.4', { affected: true, fixed: '2.2.5' }],
    ['2.3.1', { affected: true, fixed: '2.3.2' }],
  ]);
});

test('explicit versions are affected even outside ranges, and GIT ranges are ignored', () => {
  const entry: OsvAffected = {
    package: { ecosystem: 'PyPI', name: 'x' },
    ranges: [
      { type: 'GIT', repo: 'https://example.invalid/x', events: [{ introduced: '0' }, { fixed: '70f906c51ce49c485f1d355703e9cc3386b1cc2b' }] },
      { type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '1.2' }] },
    ],
    versions: ['0.9', '1.0'],
  };
  check(
    entry,
    [
      ['0.9', { affected: true, fixed: '1.2' }],
      ['0.9.0', { affected: true, fixed: '1.2' }], // equal in PEP 440
      ['0.8', { affected: false }],
      ['1.1', { affected: true, fixed: '1.2' }],
    ],
    'PyPI',
  );
});

test('unreadable versions are reported, never thrown', () => {
  const warnings: string[] = [];
  const entry = semver([{ introduced: '0' }, { fixed: 'not-a-version' }], ['1.0.0']);
  assert.deepEqual(evaluateAffected(entry, 'npm', '1.0.0', (m) => warnings.push(m)), { affected: true, fixed: undefined });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /npm range not evaluated for version 1\.0\.0: invalid semver version "not-a-version"/);
  // An installed version the scheme cannot read matches only by exact listing.
  const bad: string[] = [];
  assert.deepEqual(evaluateAffected(semver([{ introduced: '1.0.0' }]), 'npm', 'v1 beta', (m) => bad.push(m)), { affected: false });
  assert.equal(bad.length, 1);
  // An ecosystem without a known scheme evaluates only its versions list.
  assert.deepEqual(
    evaluateAffected({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }], versions: ['a'] }, 'Hackage', 'a', () => assert.fail()),
    { affected: true, fixed: undefined },
  );
});
