import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageURL } from 'packageurl-js';
import { cycloneDxValidator, debianBusterResult, mixedResult, schemaErrors } from '../report/test-helpers.js';
import type { ScanResult } from '../types.js';
import { imagePurl, SbomError } from './common.js';
import { cycloneDxBom, cycloneDxLicenses } from './cyclonedx.js';

const NOW = new Date('2026-05-01T10:00:05.250Z');
const SERIAL = 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79';
const validate = cycloneDxValidator();

type Json = Record<string, unknown>;
const bomOf = (result: ScanResult): Json => cycloneDxBom(result, { now: NOW, serialNumber: SERIAL, toolVersion: '0.1.0' });
const components = (bom: Json): Json[] => bom['components'] as Json[];
const vulns = (bom: Json): Json[] => bom['vulnerabilities'] as Json[];

describe('cycloneDxBom', () => {
  test('validates against the official CycloneDX 1.6 schema', () => {
    for (const result of [mixedResult(), { ...mixedResult(), findings: [] }, { ...mixedResult(), os: undefined }]) {
      const bom = bomOf(result);
      assert.ok(validate(bom), schemaErrors(validate));
    }
    // The validator does reject a broken BOM, so a pass means something.
    const broken = bomOf(mixedResult());
    (components(broken)[1] as Json)['licenses'] = [{ license: { id: 'GPL-2+' } }]; // not on the SPDX list
    assert.equal(validate(broken), false);
  });

  test('the document header', () => {
    const bom = bomOf(mixedResult());
    assert.equal(bom['bomFormat'], 'CycloneDX');
    assert.equal(bom['specVersion'], '1.6');
    assert.equal(bom['serialNumber'], SERIAL);
    assert.equal(bom['version'], 1);
    const metadata = bom['metadata'] as Json;
    assert.equal(metadata['timestamp'], '2026-05-01T10:00:05Z');
    assert.deepEqual(metadata['tools'], { components: [{ type: 'application', name: 'berth', version: '0.1.0' }] });
    const image = metadata['component'] as Json;
    assert.equal(image['type'], 'container');
    assert.equal(image['name'], 'registry.example.com/team/app:1.4');
    assert.equal(image['version'], mixedResult().artifact.digest);
    assert.equal(image['bom-ref'], image['purl']);
  });

  test('a random serial number by default, valid per the schema pattern', () => {
    const a = cycloneDxBom(mixedResult(), { toolVersion: '0.1.0' });
    const b = cycloneDxBom(mixedResult(), { toolVersion: '0.1.0' });
    assert.notEqual(a['serialNumber'], b['serialNumber']);
    assert.ok(validate(a), schemaErrors(validate));
  });

  test('deterministic for a fixed time and serial number, whatever the input order', () => {
    const reversed = mixedResult();
    reversed.packages.reverse();
    reversed.findings.reverse();
    assert.deepEqual(bomOf(reversed), bomOf(mixedResult()));
  });

  test('the OS and every package, with unique bom-refs', () => {
    const bom = bomOf(mixedResult());
    const cs = components(bom);
    assert.deepEqual(cs[0], {
      type: 'operating-system',
      'bom-ref': 'os:debian@10.1',
      name: 'debian',
      version: '10.1',
    });
    const refs = cs.map((c) => c['bom-ref']);
    assert.equal(new Set(refs).size, refs.length);
    // lodash was found at two paths: both occurrences are listed, told apart by path.
    const lodash = cs.filter((c) => c['name'] === 'lodash');
    assert.deepEqual(
      lodash.map((c) => c['bom-ref']),
      ['pkg:npm/lodash@4.17.15#/app/node_modules/lodash/package.json', 'pkg:npm/lodash@4.17.15#/app/package-lock.json'],
    );
    const bash = cs.find((c) => c['name'] === 'bash') as Json;
    assert.deepEqual(bash, {
      type: 'library',
      'bom-ref': 'pkg:deb/debian/bash@5.0-4?arch=amd64&distro=debian-10.1',
      name: 'bash',
      version: '5.0-4',
      purl: 'pkg:deb/debian/bash@5.0-4?arch=amd64&distro=debian-10.1',
      licenses: [{ license: { name: 'GPL-3+', acknowledgement: 'declared' } }],
      properties: [
        { name: 'berth:package:type', value: 'dpkg' },
        { name: 'berth:package:path', value: '/var/lib/dpkg/status' },
        { name: 'berth:package:layer', value: 'sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd' },
        { name: 'berth:package:src-name', value: 'bash' },
        { name: 'berth:package:src-version', value: '5.0-4' },
        { name: 'berth:package:arch', value: 'amd64' },
      ],
    });
  });

  test('dependencies: the image on the OS and the language packages, the OS on its packages', () => {
    const bom = bomOf(debianBusterResult());
    assert.deepEqual(bom['dependencies'], [
      { ref: ((bom['metadata'] as Json)['component'] as Json)['bom-ref'], dependsOn: ['os:debian@10.1'] },
      {
        ref: 'os:debian@10.1',
        dependsOn: [
          'pkg:deb/debian/bash@5.0-4?arch=amd64&distro=debian-10.1',
          'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1',
        ],
      },
    ]);
  });

  test('vulnerabilities: one per ID, rated, sourced, with affects, recommendation and advisories', () => {
    const bom = bomOf(mixedResult());
    const vs = vulns(bom);
    assert.deepEqual(
      vs.map((v) => v['id']),
      ['CVE-2019-18224', 'CVE-2019-18276', 'CVE-2020-8203', 'CVE-2021-23424', 'CVE-2021-43784', 'CVE-2026-34480'],
    );
    const libidn2 = vs[0] as Json;
    assert.deepEqual(libidn2['source'], { name: 'OSV', url: 'https://osv.dev/vulnerability/CVE-2019-18224' });
    assert.deepEqual(libidn2['references'], [
      { id: 'DSA-4613-1', source: { name: 'OSV', url: 'https://osv.dev/vulnerability/DSA-4613-1' } },
    ]);
    assert.deepEqual(libidn2['ratings'], [
      { score: 9.8, severity: 'critical', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
    ]);
    assert.equal(libidn2['recommendation'], 'Upgrade libidn2-0 to 2.0.5-1+deb10u1');
    assert.equal((libidn2['advisories'] as Json[]).length, 14);
    assert.equal(libidn2['published'], '2019-10-21T17:15:00Z');
    assert.equal(libidn2['updated'], '2019-10-29T19:15:00Z');
    assert.deepEqual(libidn2['affects'], [
      { ref: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1', versions: [{ version: '2.0.5-1', status: 'affected' }] },
    ]);

    // A vendor severity with no vector: a rating of severity only, no recommendation without a fix.
    const bash = vs[1] as Json;
    assert.deepEqual(bash['ratings'], [{ severity: 'low' }]);
    assert.equal(bash['recommendation'], undefined);

    // One ID found in the same package at two paths: one vulnerability affecting both components.
    const lodash = vs[2] as Json;
    assert.deepEqual(
      (lodash['affects'] as Json[]).map((a) => a['ref']),
      ['pkg:npm/lodash@4.17.15#/app/node_modules/lodash/package.json', 'pkg:npm/lodash@4.17.15#/app/package-lock.json'],
    );
    assert.equal(lodash['recommendation'], 'Upgrade lodash to 4.17.20');

    assert.deepEqual((vs[4] as Json)['ratings'], [{ severity: 'unknown' }]);
    assert.deepEqual((vs[5] as Json)['ratings'], [
      { score: 6.9, severity: 'medium', method: 'CVSSv4', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N' },
    ]);
  });

  test('no vulnerabilities section without findings', () => {
    assert.equal(bomOf({ ...mixedResult(), findings: [] })['vulnerabilities'], undefined);
  });

  test('references that are not http(s) URLs are left out of the advisories', () => {
    const result = debianBusterResult();
    result.findings = result.findings.map((f) => ({ ...f, references: ['javascript:alert(1)', 'not a url', 'https://example.org/a b'] }));
    const bom = bomOf(result);
    assert.ok(validate(bom), schemaErrors(validate));
    assert.deepEqual((vulns(bom)[0] as Json)['advisories'], [{ url: 'https://example.org/a%20b' }]);
  });

  test('refuses a malformed serial number and an artifact name that is not a reference', () => {
    assert.throws(() => cycloneDxBom(mixedResult(), { serialNumber: 'urn:uuid:NOT-A-UUID', toolVersion: '0.1.0' }), SbomError);
    const archive = debianBusterResult();
    archive.artifact.name = 'images/Debian Buster.tar'; // upper case and a space: not a repository name
    assert.throws(() => bomOf(archive), (err: unknown) => err instanceof SbomError && /not an image reference/.test(err.message));
  });
});

describe('cycloneDxLicenses', () => {
  test('listed identifiers as ids, unknown strings as names', () => {
    assert.deepEqual(cycloneDxLicenses(['MIT', 'mit', 'Apache License, Version 2.0']), [
      { license: { id: 'MIT', acknowledgement: 'declared' } },
      { license: { name: 'Apache License, Version 2.0', acknowledgement: 'declared' } },
    ]);
  });

  test('expressions as one expression; mixed with an unknown string, names only', () => {
    assert.deepEqual(cycloneDxLicenses(['(MIT OR Apache-2.0)']), [{ expression: '(MIT OR Apache-2.0)', acknowledgement: 'declared' }]);
    assert.deepEqual(cycloneDxLicenses(['MIT OR Apache-2.0', 'BSD-3-Clause']), [
      { expression: '(MIT OR Apache-2.0) AND BSD-3-Clause', acknowledgement: 'declared' },
    ]);
    assert.deepEqual(cycloneDxLicenses(['MIT OR Apache-2.0', 'GPL-2+']), [
      { license: { name: 'MIT OR Apache-2.0', acknowledgement: 'declared' } },
      { license: { name: 'GPL-2+', acknowledgement: 'declared' } },
    ]);
    assert.equal(cycloneDxLicenses([]), undefined);
    assert.equal(cycloneDxLicenses(undefined), undefined);
  });
});

describe('imagePurl', () => {
  test('matches the oci examples of purl-spec PURL-TYPES.rst', () => {
    const parsed = (purl: string): unknown => {
      const p = PackageURL.fromString(purl);
      return { type: p.type, namespace: p.namespace, name: p.name, version: p.version, qualifiers: p.qualifiers, subpath: p.subpath };
    };
    const digest = 'sha256:244fd47e07d10';
    const cases: [ScanResult['artifact'], string][] = [
      [
        { name: 'docker.io/library/debian:latest', digest, platform: 'linux/amd64' },
        'pkg:oci/debian@sha256%3A244fd47e07d10?repository_url=docker.io/library/debian&arch=amd64&tag=latest',
      ],
      [{ name: 'ghcr.io/debian:bullseye', digest }, 'pkg:oci/debian@sha256%3A244fd47e07d10?repository_url=ghcr.io/debian&tag=bullseye'],
      [
        { name: 'gcr.io/distroless/static:latest', digest },
        'pkg:oci/static@sha256%3A244fd47e07d10?repository_url=gcr.io/distroless/static&tag=latest',
      ],
      [{ name: 'hello-wasm:v1', digest }, 'pkg:oci/hello-wasm@sha256%3A244fd47e07d10?tag=v1'],
    ];
    for (const [artifact, example] of cases) assert.deepEqual(parsed(imagePurl(artifact)), parsed(example), artifact.name);
  });
});
