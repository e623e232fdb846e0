import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScanResult } from '../types.js';
import { SARIF_SCHEMA_URI, sarifReport } from './sarif.js';
import { debianBusterResult, mixedResult, sarifValidator, schemaErrors, schemaJson } from './test-helpers.js';

/*
 * Expected structure: the OASIS SARIF 2.1.0 schema (validated), and GitHub's
 * "SARIF support for code scanning" (github/docs
 * content/code-security/.../sarif-support-for-code-scanning.md): rules need
 * id, shortDescription.text, fullDescription.text (max 1000 characters) and
 * help.text; security-severity is a string score between 0.0 and 10.0 read
 * for rules tagged `security`; results need message.text and at least one
 * location (up to 10; only the first is used) with artifactLocation.uri and a
 * region; partialFingerprints.primaryLocationLineHash.
 */

type Json = Record<string, unknown>;
const validate = sarifValidator();
const opts = { toolVersion: '0.1.0', informationUri: 'https://berth.example/docs' };
const run = (log: Json): Json => (log['runs'] as Json[])[0] as Json;
const rules = (log: Json): Json[] => ((run(log)['tool'] as Json)['driver'] as Json)['rules'] as Json[];
const results = (log: Json): Json[] => run(log)['results'] as Json[];

describe('sarifReport', () => {
  test('validates against the official SARIF 2.1.0 schema', () => {
    for (const result of [mixedResult(), debianBusterResult(), { ...mixedResult(), findings: [] }]) {
      const log = sarifReport(result, opts);
      assert.ok(validate(log), schemaErrors(validate));
    }
    assert.equal((schemaJson('sarif-schema-2.1.0.json') as Json)['id'], SARIF_SCHEMA_URI);
    // The validator does reject a broken log, so a pass means something.
    const broken = sarifReport(mixedResult(), opts);
    (results(broken)[0] as Json)['level'] = 'critical';
    assert.equal(validate(broken), false);
  });

  test('meets GitHub code scanning\'s requirements for every rule and result', () => {
    const long = mixedResult();
    long.findings = long.findings.map((f) => ({ ...f, description: 'x'.repeat(5000) }));
    for (const log of [sarifReport(mixedResult(), opts), sarifReport(long, opts)]) {
      const rs = rules(log);
      assert.equal(new Set(rs.map((r) => r['id'])).size, rs.length, 'one rule per vulnerability ID');
      for (const r of rs) {
        assert.ok(((r['shortDescription'] as Json)['text'] as string).length > 0);
        assert.ok(((r['fullDescription'] as Json)['text'] as string).length <= 1000);
        assert.ok(((r['help'] as Json)['text'] as string).length > 0);
        const props = r['properties'] as Json;
        const score = props['security-severity'];
        assert.equal(typeof score, 'string');
        assert.ok(Number(score) >= 0 && Number(score) <= 10, String(score));
        assert.ok((props['tags'] as string[]).includes('security'));
      }
      for (const res of results(log)) {
        const index = res['ruleIndex'] as number;
        assert.equal((rs[index] as Json)['id'], res['ruleId']);
        assert.ok(((res['message'] as Json)['text'] as string).length > 0);
        const locations = res['locations'] as Json[];
        assert.equal(locations.length, 1);
        const physical = (locations[0] as Json)['physicalLocation'] as Json;
        const uri = (physical['artifactLocation'] as Json)['uri'] as string;
        assert.ok(!uri.startsWith('/') && !/^[a-z]+:/.test(uri), uri);
        assert.deepEqual(physical['region'], { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 });
        assert.match((res['partialFingerprints'] as Json)['primaryLocationLineHash'] as string, /^[0-9a-f]{16}:1$/);
      }
    }
  });

  test('the driver, a rule and a result in full', () => {
    const log = sarifReport(debianBusterResult(), opts);
    assert.equal(log['version'], '2.1.0');
    const driver = (run(log)['tool'] as Json)['driver'] as Json;
    assert.equal(driver['name'], 'berth');
    assert.equal(driver['version'], '0.1.0');
    assert.equal(driver['informationUri'], 'https://berth.example/docs');
    assert.deepEqual(
      rules(log).map((r) => r['id']),
      ['CVE-2019-18276', 'CVE-2019-18224'],
    );
    assert.deepEqual(rules(log)[1], {
      id: 'CVE-2019-18224',
      name: 'PackageVulnerability',
      shortDescription: { text: 'libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c' },
      fullDescription: {
        text: 'idn2_to_ascii_4i in lib/lookup.c in GNU libidn2 before 2.1.1 has a heap-based buffer overflow via a long domain string.',
      },
      defaultConfiguration: { level: 'error' },
      helpUri: 'https://osv.dev/vulnerability/CVE-2019-18224',
      help: {
        text: 'Vulnerability CVE-2019-18224\nSeverity: CRITICAL\nPackage: libidn2-0\nInstalled Version: 2.0.5-1\nFixed Version: 2.0.5-1+deb10u1\nLink: https://osv.dev/vulnerability/CVE-2019-18224',
        markdown:
          '**Vulnerability CVE-2019-18224**\n| Severity | Package | Installed Version | Fixed Version | Link |\n| --- | --- | --- | --- | --- |\n|CRITICAL|libidn2-0|2.0.5-1|2.0.5-1+deb10u1|[CVE-2019-18224](https://osv.dev/vulnerability/CVE-2019-18224)|\n',
      },
      properties: { 'security-severity': '9.8', tags: ['vulnerability', 'security', 'CRITICAL'], precision: 'very-high' },
    });
    const res = results(log)[1] as Json;
    assert.equal(res['ruleId'], 'CVE-2019-18224');
    assert.equal(res['ruleIndex'], 1);
    assert.equal(res['level'], 'error');
    assert.equal(
      (res['message'] as Json)['text'],
      'Package: libidn2-0\nInstalled Version: 2.0.5-1\nVulnerability: CVE-2019-18224\nSeverity: CRITICAL\nFixed Version: 2.0.5-1+deb10u1\nLink: https://osv.dev/vulnerability/CVE-2019-18224',
    );
    const location = (res['locations'] as Json[])[0] as Json;
    assert.deepEqual((location['physicalLocation'] as Json)['artifactLocation'], { uri: 'var/lib/dpkg/status' });
    assert.deepEqual(location['message'], { text: 'var/lib/dpkg/status: libidn2-0@2.0.5-1 (fixed in 2.0.5-1+deb10u1)' });
  });

  test('levels and security-severity by severity; a vendor rating without a score gets its band\'s middle', () => {
    const log = sarifReport(mixedResult(), opts);
    const byId = new Map(rules(log).map((r) => [r['id'], r]));
    const summary = (id: string): [unknown, unknown] => {
      const r = byId.get(id) as Json;
      return [(r['defaultConfiguration'] as Json)['level'], (r['properties'] as Json)['security-severity']];
    };
    assert.deepEqual(summary('CVE-2019-18224'), ['error', '9.8']); // CRITICAL, CVSS 9.8
    assert.deepEqual(summary('CVE-2020-8203'), ['error', '7.4']); // HIGH, CVSS 7.4
    assert.deepEqual(summary('CVE-2026-34480'), ['warning', '6.9']); // MEDIUM, CVSS 4.0 6.9
    assert.deepEqual(summary('CVE-2019-18276'), ['note', '2.0']); // LOW from Debian, no score
    assert.deepEqual(summary('CVE-2021-43784'), ['note', '0.0']); // UNKNOWN
    // The same ID in two files: one rule, two results.
    assert.equal(results(log).filter((r) => r['ruleId'] === 'CVE-2020-8203').length, 2);
  });

  test('paths become percent-encoded relative URIs', () => {
    const result: ScanResult = mixedResult();
    const f = result.findings[2] as ScanResult['findings'][number];
    result.findings = [{ ...f, package: { ...f.package, path: '/srv/my app/ü/#lock.json' } }];
    const log = sarifReport(result, opts);
    assert.ok(validate(log), schemaErrors(validate));
    const uri = ((((results(log)[0] as Json)['locations'] as Json[])[0] as Json)['physicalLocation'] as Json)['artifactLocation'] as Json;
    assert.deepEqual(uri, { uri: 'srv/my%20app/%C3%BC/%23lock.json' });
  });
});
