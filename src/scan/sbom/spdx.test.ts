import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { debianBusterResult, mixedResult, schemaErrors, spdxValidator } from '../report/test-helpers.js';
import type { Package, ScanResult } from '../types.js';
import { SbomError } from './common.js';
import { spdxDocument } from './spdx.js';

const NOW = new Date('2026-05-01T10:00:05.250Z');
const NAMESPACE = 'https://spdx.org/spdxdocs/berth-test-3e671687-395b-41f5-a30f-a58921a69b79';
const validate = spdxValidator();

type Json = Record<string, unknown>;
const docOf = (result: ScanResult): Json => spdxDocument(result, { now: NOW, documentNamespace: NAMESPACE, toolVersion: '0.1.0' });
const packages = (doc: Json): Json[] => doc['packages'] as Json[];
const byName = (doc: Json, name: string): Json[] => packages(doc).filter((p) => p['name'] === name);

describe('spdxDocument', () => {
  test('validates against the official SPDX 2.3 schema', () => {
    for (const result of [mixedResult(), debianBusterResult(), { ...mixedResult(), os: undefined, findings: [] }]) {
      const doc = docOf(result);
      assert.ok(validate(doc), schemaErrors(validate));
    }
    // The validator does reject a broken document, so a pass means something.
    const broken = docOf(mixedResult());
    (packages(broken)[0] as Json)['SPDXID'] = 'SPDXRef-has space';
    assert.equal(validate(broken), false);
  });

  test('the document header and creation info', () => {
    const doc = docOf(mixedResult());
    assert.equal(doc['spdxVersion'], 'SPDX-2.3');
    assert.equal(doc['dataLicense'], 'CC0-1.0');
    assert.equal(doc['SPDXID'], 'SPDXRef-DOCUMENT');
    assert.equal(doc['name'], 'registry.example.com/team/app:1.4');
    assert.equal(doc['documentNamespace'], NAMESPACE);
    assert.deepEqual(doc['creationInfo'], {
      created: '2026-05-01T10:00:05Z',
      creators: ['Tool: berth-0.1.0'],
      licenseListVersion: '3.29',
    });
  });

  test('a unique namespace by default; a bad one is refused', () => {
    const a = spdxDocument(mixedResult(), { toolVersion: '0.1.0' });
    const b = spdxDocument(mixedResult(), { toolVersion: '0.1.0' });
    assert.notEqual(a['documentNamespace'], b['documentNamespace']);
    assert.match(a['documentNamespace'] as string, /^https:\/\/spdx\.org\/spdxdocs\/berth-registry.example.com-team-app-1.4-[0-9a-f-]{36}$/);
    for (const bad of ['not a uri', 'https://example.org/doc#part']) {
      assert.throws(() => spdxDocument(mixedResult(), { documentNamespace: bad, toolVersion: '0.1.0' }), SbomError);
    }
  });

  test('the image is the described CONTAINER package and contains the OS and every package', () => {
    const doc = docOf(mixedResult());
    const image = packages(doc)[0] as Json;
    assert.equal(image['SPDXID'], 'SPDXRef-Image');
    assert.equal(image['primaryPackagePurpose'], 'CONTAINER');
    assert.equal(image['versionInfo'], mixedResult().artifact.digest);
    assert.equal(((image['externalRefs'] as Json[])[0] as Json)['referenceType'], 'purl');
    const os = packages(doc)[1] as Json;
    assert.deepEqual(os, {
      SPDXID: 'SPDXRef-OperatingSystem',
      name: 'debian',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      versionInfo: '10.1',
    });
    const relationships = doc['relationships'] as Json[];
    assert.deepEqual(relationships[0], { spdxElementId: 'SPDXRef-DOCUMENT', relatedSpdxElement: 'SPDXRef-Image', relationshipType: 'DESCRIBES' });
    const contained = relationships.slice(1).map((r) => r['relatedSpdxElement']);
    assert.deepEqual(contained, packages(doc).slice(1).map((p) => p['SPDXID']));
    assert.ok(relationships.slice(1).every((r) => r['spdxElementId'] === 'SPDXRef-Image' && r['relationshipType'] === 'CONTAINS'));
  });

  test('a package: SPDXID, purl reference, NOASSERTION where berth concludes nothing, properties as annotations', () => {
    const doc = docOf(debianBusterResult());
    assert.deepEqual(byName(doc, 'libidn2-0')[0], {
      SPDXID: 'SPDXRef-Package-libidn2-0-2.0.5-1',
      name: 'libidn2-0',
      versionInfo: '2.0.5-1',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'LGPL-3.0-or-later AND GPL-2.0-or-later',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1',
        },
      ],
      primaryPackagePurpose: 'LIBRARY',
      annotations: [
        'berth:package:type: dpkg',
        'berth:package:path: /var/lib/dpkg/status',
        'berth:package:layer: sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd',
        'berth:package:src-name: libidn2',
        'berth:package:src-version: 2.0.5-1',
        'berth:package:arch: amd64',
      ].map((comment) => ({ annotator: 'Tool: berth-0.1.0', annotationDate: '2026-05-01T10:00:05Z', annotationType: 'OTHER', comment })),
    });
  });

  test('licenses that are not SPDX expressions become LicenseRefs defined once, with the declared text', () => {
    const doc = docOf(mixedResult());
    assert.equal((byName(doc, 'bash')[0] as Json)['licenseDeclared'], 'LicenseRef-GPL-3');
    assert.equal((byName(doc, 'ansi-html')[0] as Json)['licenseDeclared'], '(MIT OR Apache-2.0)');
    assert.equal((byName(doc, 'org.apache.logging.log4j:log4j-core')[0] as Json)['licenseDeclared'], 'LicenseRef-Apache-License-Version-2.0');
    assert.equal((byName(doc, 'github.com/opencontainers/runc')[0] as Json)['licenseDeclared'], 'NOASSERTION');
    assert.deepEqual(doc['hasExtractedLicensingInfos'], [
      { licenseId: 'LicenseRef-GPL-3', extractedText: 'GPL-3+', name: 'GPL-3+' },
      { licenseId: 'LicenseRef-Apache-License-Version-2.0', extractedText: 'Apache License, Version 2.0', name: 'Apache License, Version 2.0' },
    ]);
  });

  test('IDs stay valid and unique for hostile names, and two texts reducing alike get two LicenseRefs', () => {
    const odd = (name: string, version: string, licenses: string[]): Package => ({
      name,
      version,
      type: 'npm',
      purl: `pkg:npm/${encodeURIComponent(name)}@${encodeURIComponent(version)}`,
      path: '/app/package-lock.json',
      licenses,
    });
    const result: ScanResult = {
      ...mixedResult(),
      packages: [odd('a b', '1', ['GPL 3']), odd('a_b', '1', ['GPL/3']), odd('☃', '∞', ['']), odd('x'.repeat(500), '1', [])],
      findings: [],
    };
    const doc = docOf(result);
    assert.ok(validate(doc), schemaErrors(validate));
    const ids = packages(doc).map((p) => p['SPDXID'] as string);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.includes('SPDXRef-Package-a-b-1') && ids.includes('SPDXRef-Package-a-b-1-2') && ids.includes('SPDXRef-Package-package'));
    assert.ok(ids.every((id) => id.length <= 'SPDXRef-Package-'.length + 64 + 4));
    assert.deepEqual(
      (doc['hasExtractedLicensingInfos'] as Json[]).map((e) => e['licenseId']),
      ['LicenseRef-GPL-3', 'LicenseRef-GPL-3-2'],
    );
  });

  test('deterministic for a fixed time and namespace, whatever the input order', () => {
    const reversed = mixedResult();
    reversed.packages.reverse();
    assert.deepEqual(docOf(reversed), docOf(mixedResult()));
  });
});
