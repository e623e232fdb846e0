/*
 * Test helpers for the reports and SBOM writers: hand-built scan results and
 * validators for the official schemas in test/fixtures/schemas (see the
 * README there for where each file comes from).
 *
 * The Debian part of the results is the case of Trivy's integration golden
 * file debian-buster.json.golden (packages, layer, CVEs, titles,
 * descriptions, references and dates as that file has them). The language
 * packages carry real OSV advisories from test/fixtures/osv (lodash
 * GHSA-p6mc-m468-83gw, ansi-html GHSA-whgm-jr23-g3j9, log4j-core
 * GHSA-3pxv-7cmr-fjr4, runc GO-2022-0274), with the CVSS base scores
 * ae-cvss-calculator gives for their vectors (7.4, 7.5, 6.9; runc has none).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type Format, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { Finding, Package, ScanResult } from '../types.js';

/** test/fixtures/schemas, found from the compiled file's location (.build-x/src/scan/report). */
export const SCHEMAS = fileURLToPath(new URL('../../../../test/fixtures/schemas/', import.meta.url));

export function schemaJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMAS + name, 'utf8')) as Record<string, unknown>;
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

/**
 * Formats the schemas use that ajv-formats lacks: CycloneDX's `iri-reference`
 * is checked as the stricter `uri-reference` (an ASCII URI reference is also
 * an IRI reference), `idn-email` as `email`.
 */
function withFormats<T extends Ajv | Ajv2019>(ajv: T): T {
  addFormats(ajv);
  ajv.addFormat('iri-reference', ajv.formats['uri-reference'] as Format);
  ajv.addFormat('idn-email', ajv.formats['email'] as Format);
  return ajv;
}

/** CycloneDX 1.6 (draft-07), with the SPDX license ID and JSF schemas it refers to. */
export function cycloneDxValidator(): ValidateFunction {
  const ajv = withFormats(new Ajv({ strict: false, allErrors: true }));
  ajv.addSchema(schemaJson('spdx.schema.json'));
  ajv.addSchema(schemaJson('jsf-0.82.schema.json'));
  return ajv.compile(schemaJson('bom-1.6.schema.json'));
}

/** SPDX 2.3 (draft 2019-09). */
export function spdxValidator(): ValidateFunction {
  const ajv = withFormats(new Ajv2019({ strict: false, allErrors: true }));
  return ajv.compile(schemaJson('spdx-2.3.schema.json'));
}

/**
 * SARIF 2.1.0. The schema is draft-04, which Ajv 8 no longer reads; it uses
 * only keywords whose meaning draft-07 kept (type, enum, pattern, minimum,
 * maximum, items, required, anyOf, oneOf, additionalProperties, uniqueItems,
 * minItems, format, $ref), so it is compiled as draft-07 once its draft-04
 * `id` is renamed `$id`.
 */
export function sarifValidator(): ValidateFunction {
  const schema = schemaJson('sarif-schema-2.1.0.json');
  const { $schema: _draft04, id, ...rest } = schema;
  const ajv = withFormats(new Ajv({ strict: false, allErrors: true }));
  return ajv.compile({ ...rest, $id: id as string });
}

/** Asserts-ready message for a failed validation. */
export function schemaErrors(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors?.slice(0, 10), null, 2);
}

const DEBIAN_LAYER = 'sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd';
const APP_LAYER = 'sha256:0f2b9d6a1a4bd3b3e4a3f4b5e2c9d1a7b8c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2';

export const bash: Package = {
  name: 'bash',
  version: '5.0-4',
  type: 'dpkg',
  purl: 'pkg:deb/debian/bash@5.0-4?arch=amd64&distro=debian-10.1',
  path: '/var/lib/dpkg/status',
  layer: DEBIAN_LAYER,
  source: { name: 'bash', version: '5.0-4' },
  licenses: ['GPL-3+'],
  arch: 'amd64',
};

export const libidn2: Package = {
  name: 'libidn2-0',
  version: '2.0.5-1',
  type: 'dpkg',
  purl: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1',
  path: '/var/lib/dpkg/status',
  layer: DEBIAN_LAYER,
  source: { name: 'libidn2', version: '2.0.5-1' },
  licenses: ['LGPL-3.0-or-later', 'GPL-2.0-or-later'],
  arch: 'amd64',
};

export const bashFinding: Finding = {
  id: 'CVE-2019-18276',
  aliases: [],
  package: bash,
  installedVersion: '5.0-4',
  severity: 'LOW',
  title: 'bash: when effective UID is not equal to its real UID the saved UID is not dropped',
  description:
    'An issue was discovered in disable_priv_mode in shell.c in GNU Bash through 5.0 patch 11. By default, if Bash is run with its effective UID not equal to its real UID, it will drop privileges by setting its effective UID to its real UID. However, it does so incorrectly. On Linux and other systems that support "saved UID" functionality, the saved UID is not dropped. An attacker with command execution in the shell can use "enable -f" for runtime loading of a new builtin, which can be a shared object that calls setuid() and therefore regains privileges. However, binaries running with an effective UID of 0 are unaffected.',
  references: [
    'http://packetstormsecurity.com/files/155498/Bash-5.0-Patch-11-Privilege-Escalation.html',
    'https://access.redhat.com/security/cve/CVE-2019-18276',
    'https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2019-18276',
    'https://github.com/bminor/bash/commit/951bdaad7a18cc0dc1036bba86b18b90874d39ff',
    'https://linux.oracle.com/cve/CVE-2019-18276.html',
    'https://linux.oracle.com/errata/ELSA-2021-1679.html',
    'https://lists.apache.org/thread.html/rf9fa47ab66495c78bb4120b0754dd9531ca2ff0430f6685ac9b07772@%3Cdev.mina.apache.org%3E',
    'https://nvd.nist.gov/vuln/detail/CVE-2019-18276',
    'https://security.gentoo.org/glsa/202105-34',
    'https://security.netapp.com/advisory/ntap-20200430-0003/',
    'https://www.youtube.com/watch?v=-wGtxJ8opa8',
  ],
  published: '2019-11-28T01:15:00Z',
  modified: '2021-05-26T12:15:00Z',
  sources: ['DEBIAN-CVE-2019-18276'],
};

export const libidn2Finding: Finding = {
  id: 'CVE-2019-18224',
  aliases: ['DSA-4613-1'],
  package: libidn2,
  installedVersion: '2.0.5-1',
  fixedVersion: '2.0.5-1+deb10u1',
  severity: 'CRITICAL',
  score: 9.8,
  cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  title: 'libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c',
  description:
    'idn2_to_ascii_4i in lib/lookup.c in GNU libidn2 before 2.1.1 has a heap-based buffer overflow via a long domain string.',
  references: [
    'http://lists.opensuse.org/opensuse-security-announce/2019-12/msg00008.html',
    'http://lists.opensuse.org/opensuse-security-announce/2019-12/msg00009.html',
    'https://access.redhat.com/security/cve/CVE-2019-18224',
    'https://bugs.chromium.org/p/oss-fuzz/issues/detail?id=12420',
    'https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2019-18224',
    'https://github.com/libidn/libidn2/commit/e4d1558aa2c1c04a05066ee8600f37603890ba8c',
    'https://github.com/libidn/libidn2/compare/libidn2-2.1.0...libidn2-2.1.1',
    'https://lists.fedoraproject.org/archives/list/package-announce@lists.fedoraproject.org/message/JDQVQ2XPV5BTZUFINT7AFJSKNNBVURNJ/',
    'https://lists.fedoraproject.org/archives/list/package-announce@lists.fedoraproject.org/message/MINU5RKDFE6TKAFY5DRFN3WSFDS4DYVS/',
    'https://seclists.org/bugtraq/2020/Feb/4',
    'https://security.gentoo.org/glsa/202003-63',
    'https://ubuntu.com/security/notices/USN-4168-1',
    'https://usn.ubuntu.com/4168-1/',
    'https://www.debian.org/security/2020/dsa-4613',
  ],
  published: '2019-10-21T17:15:00Z',
  modified: '2019-10-29T19:15:00Z',
  sources: ['DSA-4613-1'],
};

/** The image of Trivy's debian-buster golden file: two Debian packages, one fixed and one unfixed finding. */
export function debianBusterResult(): ScanResult {
  return {
    artifact: {
      name: 'testdata/fixtures/images/debian-buster.tar.gz',
      digest: 'sha256:1f7e2d7c7a0b9b3c8e2f6a4d5c3b2a19081726354a5b6c7d8e9f0a1b2c3d4e5f',
      configDigest: 'sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1',
    },
    os: { id: 'debian', versionId: '10.1', prettyName: 'Debian GNU/Linux 10 (buster)' },
    packages: [bash, libidn2],
    findings: [libidn2Finding, bashFinding],
    warnings: [],
    scannedAt: '2021-08-25T12:20:30Z',
  };
}

const lodash: Package = {
  name: 'lodash',
  version: '4.17.15',
  type: 'npm',
  purl: 'pkg:npm/lodash@4.17.15',
  path: '/app/package-lock.json',
  layer: APP_LAYER,
  licenses: ['MIT'],
};

/** The same lodash, also installed under node_modules: one purl at two paths. */
const lodashInstalled: Package = { ...lodash, path: '/app/node_modules/lodash/package.json' };

const ansiHtml: Package = {
  name: 'ansi-html',
  version: '0.0.7',
  type: 'npm',
  purl: 'pkg:npm/ansi-html@0.0.7',
  path: '/app/package-lock.json',
  layer: APP_LAYER,
  licenses: ['(MIT OR Apache-2.0)'],
};

const log4j: Package = {
  name: 'org.apache.logging.log4j:log4j-core',
  version: '2.25.3',
  type: 'java',
  purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.25.3',
  path: '/app/lib/log4j-core-2.25.3.jar',
  layer: APP_LAYER,
  licenses: ['Apache License, Version 2.0'],
};

const runc: Package = {
  name: 'github.com/opencontainers/runc',
  version: 'v1.0.3',
  type: 'go-module',
  purl: 'pkg:golang/github.com/opencontainers/runc@v1.0.3',
  path: '/usr/local/bin/runc',
  layer: APP_LAYER,
};

const lodashFinding = (pkg: Package): Finding => ({
  id: 'CVE-2020-8203',
  aliases: ['GHSA-p6mc-m468-83gw'],
  package: pkg,
  installedVersion: '4.17.15',
  fixedVersion: '4.17.20',
  severity: 'HIGH',
  score: 7.4,
  cvssVector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H',
  title: 'Prototype Pollution in lodash',
  description:
    'Versions of lodash prior to 4.17.19 are vulnerable to Prototype Pollution. The function zipObjectDeep allows a malicious user to modify the prototype of Object if the property identifiers are user-supplied. Being affected by this issue requires zipping objects based on user-provided property arrays.',
  references: ['https://nvd.nist.gov/vuln/detail/CVE-2020-8203', 'https://github.com/lodash/lodash/issues/4744'],
  published: '2020-07-15T19:15:48Z',
  modified: '2022-02-08T22:04:28Z',
  sources: ['GHSA-p6mc-m468-83gw'],
});

const ansiHtmlFinding: Finding = {
  id: 'CVE-2021-23424',
  aliases: ['GHSA-whgm-jr23-g3j9'],
  package: ansiHtml,
  installedVersion: '0.0.7',
  fixedVersion: '0.0.8',
  severity: 'HIGH',
  score: 7.5,
  cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
  title: 'Uncontrolled Resource Consumption in ansi-html',
  description:
    'This affects all versions of package ansi-html. If an attacker provides a malicious string, it will get stuck processing the input for an extremely long time.',
  references: ['https://nvd.nist.gov/vuln/detail/CVE-2021-23424', 'https://github.com/Tjatse/ansi-html/issues/19'],
  published: '2021-09-02T17:15:24Z',
  modified: '2023-11-08T04:05:08.868477Z',
  sources: ['GHSA-whgm-jr23-g3j9'],
};

const log4jFinding: Finding = {
  id: 'CVE-2026-34480',
  aliases: ['GHSA-3pxv-7cmr-fjr4'],
  package: log4j,
  installedVersion: '2.25.3',
  fixedVersion: '2.25.4',
  severity: 'MEDIUM',
  score: 6.9,
  cvssVector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N',
  title: 'Apache Log4j Core: Silent log event loss in XmlLayout due to unescaped XML 1.0 forbidden characters',
  references: ['https://nvd.nist.gov/vuln/detail/CVE-2026-34480', 'https://github.com/apache/logging-log4j2/pull/4077'],
  published: '2026-04-10T18:31:17Z',
  modified: '2026-04-16T11:29:10.536806482Z',
  sources: ['GHSA-3pxv-7cmr-fjr4'],
};

const runcFinding: Finding = {
  id: 'CVE-2021-43784',
  aliases: ['GHSA-v95c-p5hm-xq8f', 'GO-2022-0274'],
  package: runc,
  installedVersion: 'v1.0.3',
  fixedVersion: '1.1.0',
  severity: 'UNKNOWN',
  title: 'Namespace restriction bypass in github.com/opencontainers/runc',
  description:
    'An attacker with partial control over the bind mount sources of a new container can bypass namespace restrictions.',
  references: ['https://github.com/opencontainers/runc/commit/f50369af4b571e358f20b139eea52d612eb55eed'],
  published: '2022-07-15T23:08:20Z',
  modified: '2026-02-04T02:26:28.343240Z',
  sources: ['GO-2022-0274'],
};

/** An image reference with OS and language packages of every shape the writers handle. */
export function mixedResult(): ScanResult {
  return {
    artifact: {
      name: 'registry.example.com/team/app:1.4',
      digest: 'sha256:9b2a6c3f1d0e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a',
      configDigest: 'sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1',
      platform: 'linux/amd64',
    },
    os: { id: 'debian', versionId: '10.1' },
    packages: [bash, libidn2, lodash, lodashInstalled, ansiHtml, log4j, runc],
    findings: [
      libidn2Finding,
      bashFinding,
      lodashFinding(lodash),
      lodashFinding(lodashInstalled),
      ansiHtmlFinding,
      log4jFinding,
      runcFinding,
    ],
    warnings: [],
    scannedAt: '2026-05-01T10:00:00Z',
  };
}
