import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { debianBusterResult, mixedResult, SCHEMAS } from './test-helpers.js';
import { trivyJsonReport } from './trivy-json.js';

/*
 * Expected values come from Trivy itself: its integration golden file
 * integration/testdata/debian-buster.json.golden (test/fixtures/schemas,
 * see the README there) is the report Trivy writes for the image whose
 * packages and findings debianBusterResult() hand-builds. For the parts berth
 * fills, the keys, their nesting and order, and the values must be Trivy's.
 * The package fields come from Trivy's pkg/fanal/types/package.go (Package).
 */

type Json = Record<string, unknown>;
const golden = JSON.parse(readFileSync(`${SCHEMAS}trivy-debian-buster.json.golden`, 'utf8')) as Json;
const json = (o: unknown): Json => JSON.parse(JSON.stringify(o)) as Json;

/** Fields berth fills with its own data (see trivy-json.ts): compared for shape only. */
const BERTH_VALUES = new Set(['PrimaryURL', 'CVSS', 'Layer', 'CreatedAt']);
/** Fields of Trivy's Metadata (pkg/types/report.go) that the golden, scanned from an archive, leaves out. */
const TRIVY_METADATA_FIELDS = ['Size', 'OS', 'ImageID', 'DiffIDs', 'RepoTags', 'RepoDigests', 'ImageConfig'];
const TRIVY_PACKAGE_FIELDS = ['ID', 'Name', 'Identifier', 'Version', 'Release', 'Epoch', 'Arch', 'Dev', 'SrcName', 'SrcVersion', 'SrcRelease', 'SrcEpoch', 'Licenses', 'LicenseText', 'Maintainer', 'Modularitylabel', 'BuildInfo', 'Indirect', 'Relationship', 'DependsOn', 'Layer', 'FilePath', 'Digest', 'Locations', 'InstalledFiles'];

/** Every key of `ours` is one of `keys`, in the same relative order. */
function sameOrderSubset(ours: Json, keys: readonly string[], where: string): void {
  const positions = Object.keys(ours).map((k) => keys.indexOf(k));
  assert.ok(positions.every((p) => p >= 0), `${where}: ${Object.keys(ours).join(',')} not all in ${keys.join(',')}`);
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `${where}: keys out of Trivy's order`);
}

describe('trivyJsonReport against Trivy\'s debian-buster golden file', () => {
  const ours = json(trivyJsonReport(debianBusterResult()));

  test('top level: Trivy\'s keys in Trivy\'s order, same values', () => {
    sameOrderSubset(ours, Object.keys(golden), 'report');
    for (const k of ['SchemaVersion', 'ArtifactName', 'ArtifactType']) assert.deepEqual(ours[k], golden[k], k);
    assert.equal(ours['CreatedAt'], '2021-08-25T12:20:30Z');
  });

  test('metadata: OS and ImageID as Trivy writes them', () => {
    const meta = ours['Metadata'] as Json;
    const goldenMeta = golden['Metadata'] as Json;
    sameOrderSubset(meta, TRIVY_METADATA_FIELDS, 'Metadata');
    assert.deepEqual(meta['OS'], goldenMeta['OS']);
    assert.equal(meta['ImageID'], goldenMeta['ImageID']);
  });

  test('results: the same targets, and each vulnerability with Trivy\'s keys and values', () => {
    const results = ours['Results'] as Json[];
    const goldenResults = golden['Results'] as Json[];
    assert.equal(results.length, goldenResults.length);
    for (const [i, result] of results.entries()) {
      const g = goldenResults[i] as Json;
      sameOrderSubset(result, Object.keys(g), 'Result');
      for (const k of ['Target', 'Class', 'Type']) assert.equal(result[k], g[k], k);
      const vulns = result['Vulnerabilities'] as Json[];
      const goldenVulns = g['Vulnerabilities'] as Json[];
      assert.equal(vulns.length, goldenVulns.length);
      for (const [j, v] of vulns.entries()) {
        const gv = goldenVulns[j] as Json;
        sameOrderSubset(v, Object.keys(gv), `Vulnerabilities[${j}]`);
        for (const k of Object.keys(v).filter((key) => !BERTH_VALUES.has(key))) assert.deepEqual(v[k], gv[k], `${gv['VulnerabilityID']} ${k}`);
        assert.deepEqual(v['Layer'], { Digest: (gv['Layer'] as Json)['Digest'] });
        assert.equal(typeof v['PrimaryURL'], 'string');
      }
    }
  });

  test('CVSS: the vector the severity came from, in trivy-db\'s field names', () => {
    const [bash, libidn2] = ((ours['Results'] as Json[])[0] as Json)['Vulnerabilities'] as Json[];
    const goldenLibidn2 = ((((golden['Results'] as Json[])[0] as Json)['Vulnerabilities'] as Json[])[1] as Json)['CVSS'] as Json;
    const nvd = goldenLibidn2['nvd'] as Json;
    assert.deepEqual((libidn2 as Json)['CVSS'], { osv: { V3Vector: nvd['V3Vector'], V3Score: nvd['V3Score'] } });
    assert.equal((bash as Json)['CVSS'], undefined); // rated LOW by Debian, no vector behind it
    assert.equal((libidn2 as Json)['PrimaryURL'], 'https://osv.dev/vulnerability/CVE-2019-18224');
  });
});

describe('trivyJsonReport', () => {
  test('one result per OS database, lockfile and binary; installed packages gathered as Trivy does', () => {
    const report = json(trivyJsonReport(mixedResult()));
    const results = report['Results'] as Json[];
    assert.deepEqual(
      results.map((r) => [r['Target'], r['Class'], r['Type']]),
      [
        ['registry.example.com/team/app:1.4 (debian 10.1)', 'os-pkgs', 'debian'],
        ['Java', 'lang-pkgs', 'jar'],
        ['Node.js', 'lang-pkgs', 'node-pkg'],
        ['app/package-lock.json', 'lang-pkgs', 'npm'],
        ['usr/local/bin/runc', 'lang-pkgs', 'gobinary'],
      ],
    );
    assert.deepEqual((report['Metadata'] as Json)['RepoDigests'], [
      'registry.example.com/team/app@sha256:9b2a6c3f1d0e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a',
    ]);
    const java = ((results[1] as Json)['Vulnerabilities'] as Json[])[0] as Json;
    assert.equal(java['PkgID'], 'org.apache.logging.log4j:log4j-core:2.25.3');
    assert.equal(java['PkgPath'], 'app/lib/log4j-core-2.25.3.jar');
    assert.deepEqual(java['CVSS'], {
      osv: { V40Vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N', V40Score: 6.9 },
    });
    const npm = ((results[3] as Json)['Vulnerabilities'] as Json[]).map((v) => [v['VulnerabilityID'], v['PkgID'], v['Status'], v['PkgPath']]);
    assert.deepEqual(npm, [
      ['CVE-2021-23424', 'ansi-html@0.0.7', 'fixed', undefined],
      ['CVE-2020-8203', 'lodash@4.17.15', 'fixed', undefined],
    ]);
    // Without includePackages no result lists its packages.
    assert.ok(results.every((r) => r['Packages'] === undefined));
  });

  test('includePackages lists each result\'s packages with Trivy\'s package fields', () => {
    const results = json(trivyJsonReport(mixedResult(), { includePackages: true }))['Results'] as Json[];
    for (const r of results) {
      for (const p of r['Packages'] as Json[]) sameOrderSubset(p, TRIVY_PACKAGE_FIELDS, `${r['Target']} package`);
    }
    assert.deepEqual((results[0] as Json)['Packages'], [
      {
        ID: 'bash@5.0-4',
        Name: 'bash',
        Identifier: { PURL: 'pkg:deb/debian/bash@5.0-4?arch=amd64&distro=debian-10.1' },
        Version: '5.0-4',
        Arch: 'amd64',
        SrcName: 'bash',
        SrcVersion: '5.0-4',
        Licenses: ['GPL-3+'],
        Layer: { Digest: 'sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd' },
      },
      {
        ID: 'libidn2-0@2.0.5-1',
        Name: 'libidn2-0',
        Identifier: { PURL: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1' },
        Version: '2.0.5-1',
        Arch: 'amd64',
        SrcName: 'libidn2',
        SrcVersion: '2.0.5-1',
        Licenses: ['LGPL-3.0-or-later', 'GPL-2.0-or-later'],
        Layer: { Digest: 'sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd' },
      },
    ]);
    assert.equal(((results[2] as Json)['Packages'] as Json[])[0]?.['FilePath'], 'app/node_modules/lodash/package.json');
  });

  test('a target without findings has no Vulnerabilities key; no OS, no OS metadata', () => {
    const result = { ...mixedResult(), os: undefined, findings: [] };
    const report = json(trivyJsonReport(result));
    assert.equal((report['Metadata'] as Json)['OS'], undefined);
    assert.ok((report['Results'] as Json[]).every((r) => r['Vulnerabilities'] === undefined));
    assert.equal(((report['Results'] as Json[])[0] as Json)['Target'], 'registry.example.com/team/app:1.4 (dpkg)');
  });
});
