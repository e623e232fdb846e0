import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScanResult } from '../types.js';
import { ReportOptionsError, tableReport } from './table.js';
import { debianBusterResult, mixedResult } from './test-helpers.js';

/*
 * The layout is Trivy's table output as its documentation shows it
 * (docs/docs/configuration/filtering.md: target underlined with "=", a Total
 * line, box-drawn columns Library | Vulnerability | Severity | Status |
 * Installed Version | Fixed Version | Title, headers centred), with the
 * summary counts worst first as berth's brief asks. The findings are those of
 * Trivy's debian-buster golden file.
 */

const WIDE = [
  'testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)',
  '===========================================================',
  'Total: 2 (CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 1, UNKNOWN: 0)',
  '',
  '┌───────────┬────────────────┬──────────┬──────────┬───────────────────┬─────────────────┬────────────────────────────────────────────────────────────────────────────────────┐',
  '│  Library  │ Vulnerability  │ Severity │  Status  │ Installed Version │  Fixed Version  │                                       Title                                        │',
  '├───────────┼────────────────┼──────────┼──────────┼───────────────────┼─────────────────┼────────────────────────────────────────────────────────────────────────────────────┤',
  '│ bash      │ CVE-2019-18276 │ LOW      │ affected │ 5.0-4             │                 │ bash: when effective UID is not equal to its real UID the saved UID is not dropped │',
  '├───────────┼────────────────┼──────────┼──────────┼───────────────────┼─────────────────┼────────────────────────────────────────────────────────────────────────────────────┤',
  '│ libidn2-0 │ CVE-2019-18224 │ CRITICAL │ fixed    │ 2.0.5-1           │ 2.0.5-1+deb10u1 │ libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c            │',
  '└───────────┴────────────────┴──────────┴──────────┴───────────────────┴─────────────────┴────────────────────────────────────────────────────────────────────────────────────┘',
  '',
].join('\n');

const NARROW = [
  'testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)',
  '===========================================================',
  'Total: 2 (CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 1, UNKNOWN: 0)',
  '',
  '┌───────────┬────────────────┬──────────┬──────────┬───────────────────┬─────────────────┬─────────────────────────────┐',
  '│  Library  │ Vulnerability  │ Severity │  Status  │ Installed Version │  Fixed Version  │            Title            │',
  '├───────────┼────────────────┼──────────┼──────────┼───────────────────┼─────────────────┼─────────────────────────────┤',
  '│ bash      │ CVE-2019-18276 │ LOW      │ affected │ 5.0-4             │                 │ bash: when effective UID is │',
  '│           │                │          │          │                   │                 │ not equal to its real UID   │',
  '│           │                │          │          │                   │                 │ the saved UID is not        │',
  '│           │                │          │          │                   │                 │ dropped                     │',
  '├───────────┼────────────────┼──────────┼──────────┼───────────────────┼─────────────────┼─────────────────────────────┤',
  '│ libidn2-0 │ CVE-2019-18224 │ CRITICAL │ fixed    │ 2.0.5-1           │ 2.0.5-1+deb10u1 │ libidn2: heap-based buffer  │',
  '│           │                │          │          │                   │                 │ overflow in                 │',
  '│           │                │          │          │                   │                 │ idn2_to_ascii_4i in         │',
  '│           │                │          │          │                   │                 │ lib/lookup.c                │',
  '└───────────┴────────────────┴──────────┴──────────┴───────────────────┴─────────────────┴─────────────────────────────┘',
  '',
].join('\n');

describe('tableReport', () => {
  test('Trivy\'s layout, exactly, without a width limit', () => {
    assert.equal(tableReport(debianBusterResult(), { color: false }), WIDE);
  });

  test('fits a width by wrapping the titles', () => {
    const out = tableReport(debianBusterResult(), { color: false, width: 120 });
    assert.equal(out, NARROW);
    assert.ok(out.split('\n').every((l) => [...l].length <= 120));
  });

  test('colours only the severity cell, and only when asked', () => {
    const plain = tableReport(mixedResult(), { color: false });
    assert.ok(!plain.includes('\u001b'));
    const lines = tableReport(debianBusterResult(), { color: true }).split('\n');
    assert.equal(
      lines[7],
      '│ bash      │ CVE-2019-18276 │ \u001b[34mLOW     \u001b[0m │ affected │ 5.0-4             │                 │ bash: when effective UID is not equal to its real UID the saved UID is not dropped │',
    );
    assert.ok((lines[9] as string).includes('\u001b[31mCRITICAL\u001b[0m'));
  });

  test('one block per target with findings, OS first, language targets in Trivy\'s grouping', () => {
    const out = tableReport(mixedResult(), { color: false, width: 160 });
    const headings = out.split('\n').filter((_, i, all) => /^=+$/.test(all[i + 1] ?? ''));
    assert.deepEqual(headings, [
      'registry.example.com/team/app:1.4 (debian 10.1)',
      'Java',
      'Node.js',
      'app/package-lock.json',
      'usr/local/bin/runc',
    ]);
    assert.ok(out.includes('Total: 2 (CRITICAL: 0, HIGH: 2, MEDIUM: 0, LOW: 0, UNKNOWN: 0)'));
    assert.ok(out.includes('Total: 1 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 1)'));
  });

  test('the OS target is shown without findings; language targets without findings are not', () => {
    const out = tableReport({ ...mixedResult(), findings: [] }, { color: false });
    assert.equal(
      out,
      'registry.example.com/team/app:1.4 (debian 10.1)\n' +
        '===============================================\n' +
        'Total: 0 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0)\n',
    );
  });

  test('a finding without a title shows the first 12 words of its description', () => {
    const result = debianBusterResult();
    result.findings = result.findings.map((f) => ({ ...f, title: undefined }));
    const out = tableReport(result, { color: false });
    assert.ok(out.includes('│ An issue was discovered in disable_priv_mode in shell.c in GNU Bash through... '));
    assert.ok(out.includes('│ idn2_to_ascii_4i in lib/lookup.c in GNU libidn2 before 2.1.1 has a heap-based buffer... │'));
  });

  test('terminal control and bidi characters from the image are neutralised', () => {
    const result: ScanResult = debianBusterResult();
    const f = result.findings[0] as ScanResult['findings'][number];
    result.findings = [{ ...f, title: 'evil\u001b[2Jtitle\u202eabc', package: { ...f.package, name: 'pkg\r\nname\u0007' } }];
    const out = tableReport(result, { color: false });
    // eslint-disable-next-line no-control-regex -- the test looks for exactly these characters
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/.test(out));
    assert.ok(out.includes('evil [2Jtitle abc'));
    assert.ok(out.includes('│ pkg name '));
  });

  test('deterministic, whatever the order of the findings', () => {
    const reversed = mixedResult();
    reversed.findings.reverse();
    reversed.packages.reverse();
    assert.equal(tableReport(reversed, { color: false, width: 100 }), tableReport(mixedResult(), { color: false, width: 100 }));
  });

  test('refuses a width that is not a positive whole number', () => {
    for (const width of [0, -5, 1.5, Number.NaN, 1e9]) {
      assert.throws(() => tableReport(mixedResult(), { color: false, width }), ReportOptionsError);
    }
  });

  test('a width too small for the headers gives the narrowest table, not a loop', () => {
    const out = tableReport(mixedResult(), { color: false, width: 1 });
    assert.ok(out.length > 0);
  });
});
