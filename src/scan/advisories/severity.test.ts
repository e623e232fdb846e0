import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cvssSeverity, decideSeverity, ratingSeverity, scoreCvss } from './severity.js';

/**
 * CVSS v3.1 base score written out from the FIRST specification, section 7.1
 * and Appendix A (Roundup), independently of ae-cvss-calculator.
 */
function specBaseScore31(vector: string): number {
  const m = Object.fromEntries(
    vector
      .replace(/^CVSS:3\.[01]\//, '')
      .split('/')
      .map((p) => p.split(':') as [string, string]),
  );
  const changed = m.S === 'C';
  const AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 }[m.AV as 'N']!;
  const AC = { L: 0.77, H: 0.44 }[m.AC as 'L']!;
  const PR = (changed ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 })[m.PR as 'N']!;
  const UI = { N: 0.85, R: 0.62 }[m.UI as 'N']!;
  const cia = (k: string) => ({ H: 0.56, L: 0.22, N: 0 })[m[k] as 'H']!;
  const iss = 1 - (1 - cia('C')) * (1 - cia('I')) * (1 - cia('A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * AV * AC * PR * UI;
  const roundup = (x: number) => {
    const i = Math.round(x * 100000);
    return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
  };
  if (impact <= 0) return 0;
  return changed ? roundup(Math.min(1.08 * (impact + exploitability), 10)) : roundup(Math.min(impact + exploitability, 10));
}

// Every CVSS 3.1 vector of the fixtures, with the score the spec formula gives.
const V31: [string, number][] = [
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5], // GHSA-whgm-jr23-g3j9, USN-8611-1 CVE-2026-4046
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5], // GHSA-m2qf-hxjv-5gpq
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', 7.4], // GHSA-p6mc-m468-83gw
  ['CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.0], // ALPINE-CVE-2025-26519
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8], // USN-8611-1 CVE-2026-5450
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L', 7.3], // USN-8611-1 CVE-2026-5435
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:L', 6.5], // USN-8611-1 CVE-2026-6238
  ['CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N', 5.4], // USN-8611-1 CVE-2026-4438
];

test('CVSS 3.1 base scores agree with the specification formula and the published values', () => {
  for (const [vector, expected] of V31) {
    assert.equal(specBaseScore31(vector), expected, `spec formula for ${vector}`);
    assert.deepEqual(scoreCvss(vector), { vector, score: expected, severity: cvssSeverity(expected) }, vector);
  }
});

test('CVSS 3.0 vectors are scored like 3.1 for these metrics', () => {
  assert.equal(scoreCvss('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')?.score, 9.8);
});

test('CVSS 4.0 base scores match the CvssSuite test vectors', () => {
  // 0llirocks/CvssSuite Cvss.Suite.Tests/Cvss40.cs: 6.9 Medium and 9.3 Critical.
  assert.deepEqual(scoreCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N'), {
    vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N',
    score: 6.9,
    severity: 'MEDIUM',
  });
  assert.deepEqual(scoreCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'), {
    vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
    score: 9.3,
    severity: 'CRITICAL',
  });
});

test('vectors that are not complete v3/v4 base vectors give no score', () => {
  for (const bad of [
    'AV:N/AC:L/Au:N/C:P/I:P/A:P', // CVSS v2 is not used
    'CVSS:3.1/AV:N', // base metrics missing
    'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // unknown value
    'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SN:N/SA:N', // unknown metric
    'CVSS:5.0/AV:N',
    'garbage',
    '',
    `CVSS:3.1/${'AV:N/'.repeat(200)}`,
  ]) {
    assert.equal(scoreCvss(bad), undefined, bad);
  }
});

test('qualitative ratings follow the CVSS table at its boundaries', () => {
  const cases: [number, string][] = [
    [0, 'LOW'],
    [0.1, 'LOW'],
    [3.9, 'LOW'],
    [4.0, 'MEDIUM'],
    [6.9, 'MEDIUM'],
    [7.0, 'HIGH'],
    [8.9, 'HIGH'],
    [9.0, 'CRITICAL'],
    [10, 'CRITICAL'],
  ];
  for (const [score, severity] of cases) assert.equal(cvssSeverity(score), severity, String(score));
});

test('vendor ratings map GHSA, Ubuntu and Debian words', () => {
  assert.equal(ratingSeverity('MODERATE'), 'MEDIUM');
  assert.equal(ratingSeverity('CRITICAL'), 'CRITICAL');
  assert.equal(ratingSeverity('negligible'), 'LOW');
  assert.equal(ratingSeverity('unimportant'), 'LOW');
  assert.equal(ratingSeverity('Important'), 'HIGH');
  assert.equal(ratingSeverity('not yet assigned'), undefined);
  assert.equal(ratingSeverity('untriaged'), undefined);
  assert.equal(ratingSeverity(7), undefined);
});

test('the highest CVSS score wins over ratings; ratings decide only without vectors', () => {
  const low = scoreCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:L')!;
  const high = scoreCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')!;
  assert.deepEqual(decideSeverity([{ vectors: [low], ratings: ['CRITICAL'] }, { vectors: [high], ratings: [] }]), {
    severity: 'CRITICAL',
    score: 9.8,
    cvssVector: high.vector,
  });
  assert.deepEqual(decideSeverity([{ vectors: [], ratings: ['LOW', 'HIGH'] }]), { severity: 'HIGH' });
  assert.deepEqual(decideSeverity([{ vectors: [], ratings: [] }]), { severity: 'UNKNOWN' });
});
