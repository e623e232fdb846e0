import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Finding } from '../types.js';
import { filterFindings, IgnoreFileError, MAX_IGNORE_ENTRIES, MAX_IGNORE_FILE_LENGTH, parseIgnoreFile, type IgnoreRule } from './filter.js';
import { mixedResult, SCHEMAS } from './test-helpers.js';

/*
 * The ignore files are the examples of Trivy's documentation
 * (docs/docs/configuration/filtering.md, "By Finding IDs"), in
 * test/fixtures/schemas; the rules they give are read off those examples.
 */

const NOW = new Date('2023-06-01T00:00:00Z');
const findings = (): Finding[] => mixedResult().findings;
const ids = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.id} ${f.package.path}`);

describe('parseIgnoreFile', () => {
  test('Trivy\'s .trivyignore example: IDs, an expiry, comments as reasons', () => {
    assert.deepEqual(parseIgnoreFile(readFileSync(`${SCHEMAS}trivyignore.example`, 'utf8')), [
      { id: 'CVE-2018-14618', statement: 'Accept the risk' },
      { id: 'CVE-2019-14697', expiresAt: '2023-01-01', statement: 'Accept the risk until 2023-01-01' },
      { id: 'CVE-2019-1543', statement: 'No impact in our settings' },
      { id: 'AVD-DS-0002', statement: 'Ignore misconfigurations' },
      { id: 'generic-unwanted-rule', statement: 'Ignore secrets' },
      { id: 'aws-account-id' },
    ]);
  });

  test('Trivy\'s .trivyignore.yaml example: the vulnerabilities section', () => {
    assert.deepEqual(parseIgnoreFile(readFileSync(`${SCHEMAS}trivyignore.example.yaml`, 'utf8')), [
      {
        id: 'CVE-2022-40897',
        statement: 'Accept the risk',
        paths: ['usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA'],
      },
      { id: 'CVE-2023-2650' },
      { id: 'CVE-2023-3446' },
      { id: 'CVE-2023-3817', purls: ['pkg:deb/debian/libssl1.1'] },
      { id: 'CVE-2023-29491', expiresAt: '2023-09-01' },
    ]);
  });

  test('inline reasons, CRLF line ends, a byte-order mark, an empty file', () => {
    assert.deepEqual(parseIgnoreFile('\uFEFF# block\r\nGHSA-p6mc-m468-83gw   # only in the build stage\r\nCVE-1 exp:2030-12-31\r\n'), [
      { id: 'GHSA-p6mc-m468-83gw', statement: 'only in the build stage' },
      { id: 'CVE-1', expiresAt: '2030-12-31' },
    ]);
    assert.deepEqual(parseIgnoreFile(''), []);
    assert.deepEqual(parseIgnoreFile('# nothing yet\n'), []);
    assert.deepEqual(parseIgnoreFile('vulnerabilities: []\n'), []);
  });

  test('refuses what it cannot read, naming the line', () => {
    const cases: [string, RegExp][] = [
      ['CVE-1\nCVE-2 until:2023-01-01\n', /^line 2: unexpected "until:2023-01-01"/],
      ['CVE-1 exp:2023-02-30\n', /^line 1: expiry "2023-02-30" is not a date/],
      ['CVE-1 exp:2023-01-01 exp:2024-01-01\n', /^line 1: unexpected "exp:2024-01-01"/],
      ['\n\n<script>\n', /^line 3: "<script>" is not a vulnerability ID/],
      ['vulnerabilities:\n  - id: CVE-1\n    expires: 2023-01-01\n', /unknown key "expires"/],
      ['vulnerabilites:\n  - id: CVE-1\n', /unknown section "vulnerabilites"/],
      ['vulnerabilities:\n  - id: [1, 2]\n', /id must be a string/],
      ['vulnerabilities:\n  - id: CVE-1\n    purls: ["not a purl"]\n', /is not a package URL/],
      ['vulnerabilities:\n  - id: CVE-1\n    paths: "usr/bin/x"\n', /paths must be a list of strings/],
      ['vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    id: CVE-3\n', /^line 4: not valid YAML/],
      ['vulnerabilities: {a: 1\n', /not valid YAML/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseIgnoreFile(text), (err: unknown) => err instanceof IgnoreFileError && message.test(err.message), text);
    }
  });

  test('hostile input is bounded: size, entries, alias expansion', () => {
    assert.throws(() => parseIgnoreFile('#'.repeat(MAX_IGNORE_FILE_LENGTH + 1)), IgnoreFileError);
    assert.throws(() => parseIgnoreFile('CVE-1\n'.repeat(MAX_IGNORE_ENTRIES + 1)), /more than 10000 entries/);
    // "Billion laughs": ten levels of ten aliases each would expand to 10^10 strings.
    const levels = ['&a [x, x, x, x, x, x, x, x, x, x]'];
    for (const c of 'bcdefghij') levels.push(`&${c} [${Array(10).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(', ')}]`);
    const laughs = `secrets: [${levels.join(', ')}]\nvulnerabilities:\n  - id: CVE-1\n    paths: *j\n`;
    assert.throws(() => parseIgnoreFile(laughs), (err: unknown) => err instanceof IgnoreFileError && /alias/i.test(err.message));
  });
});

describe('filterFindings', () => {
  test('by severity and fix; no options keep everything', () => {
    assert.equal(filterFindings(findings(), { now: NOW }).length, 7);
    assert.deepEqual(
      filterFindings(findings(), { severities: ['CRITICAL', 'HIGH'], now: NOW }).map((f) => f.id),
      ['CVE-2019-18224', 'CVE-2020-8203', 'CVE-2020-8203', 'CVE-2021-23424'],
    );
    assert.equal(filterFindings(findings(), { severities: [], now: NOW }).length, 7);
    assert.ok(!filterFindings(findings(), { ignoreUnfixed: true, now: NOW }).some((f) => f.id === 'CVE-2019-18276'));
  });

  test('an ignore rule matches the ID or any alias', () => {
    const left = filterFindings(findings(), { ignore: [{ id: 'GHSA-p6mc-m468-83gw' }, { id: 'CVE-2019-18276' }], now: NOW });
    assert.deepEqual(
      left.map((f) => f.id),
      ['CVE-2019-18224', 'CVE-2021-23424', 'CVE-2026-34480', 'CVE-2021-43784'],
    );
  });

  test('an expiry applies the rule until that day begins', () => {
    const rule: IgnoreRule = { id: 'CVE-2019-18224', expiresAt: '2023-06-01' };
    const kept = (now: string): boolean => filterFindings(findings(), { ignore: [rule], now: new Date(now) }).some((f) => f.id === rule.id);
    assert.equal(kept('2023-05-31T23:59:59Z'), false);
    assert.equal(kept('2023-06-01T00:00:00Z'), false);
    assert.equal(kept('2023-06-01T00:00:01Z'), true);
  });

  test('paths, relative as Trivy writes them or absolute, narrow a rule to those files', () => {
    const left = (paths: string[]): string[] =>
      ids(filterFindings(findings(), { ignore: [{ id: 'CVE-2020-8203', paths }], now: NOW })).filter((s) => s.startsWith('CVE-2020-8203'));
    assert.deepEqual(left(['app/package-lock.json']), ['CVE-2020-8203 /app/node_modules/lodash/package.json']);
    assert.deepEqual(left(['/app/node_modules/lodash/package.json']), ['CVE-2020-8203 /app/package-lock.json']);
    assert.deepEqual(left(['app/other.json']).length, 2);
  });

  test('purls narrow a rule to packages; without a version they match every version', () => {
    const kept = (purls: string[]): boolean =>
      filterFindings(findings(), { ignore: [{ id: 'CVE-2019-18224', purls }], now: NOW }).some((f) => f.id === 'CVE-2019-18224');
    assert.equal(kept(['pkg:deb/debian/libidn2-0']), false);
    assert.equal(kept(['pkg:deb/debian/libidn2-0@2.0.5-1']), false);
    assert.equal(kept(['pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64']), false);
    assert.equal(kept(['pkg:deb/debian/libidn2-0@2.0.5-2']), true);
    assert.equal(kept(['pkg:deb/debian/libidn2-0?arch=arm64']), true);
    assert.equal(kept(['pkg:deb/ubuntu/libidn2-0']), true);
  });

  test('refuses a rule with an invalid ID, date or purl', () => {
    for (const rule of [{ id: 'CVE 1' }, { id: 'CVE-1', expiresAt: 'tomorrow' }, { id: 'CVE-1', purls: ['libidn2'] }]) {
      assert.throws(() => filterFindings(findings(), { ignore: [rule], now: NOW }), IgnoreFileError);
    }
  });
});
