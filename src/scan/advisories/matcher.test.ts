import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, OsInfo, Package } from '../types.js';
import { AdvisoryDb } from './advisory-db.js';
import { matchPackages } from './matcher.js';
import { FIXTURES, tempDir } from './test-helpers.js';

const NOW = Date.parse('2026-11-27T00:00:00Z');
let db: AdvisoryDb;
let cleanup: () => void;
const warnings: string[] = [];

before(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  db = AdvisoryDb.open(t.dir);
  await db.import(join(FIXTURES, 'records'));
});

after(() => {
  db.close();
  cleanup();
  assert.deepEqual(warnings, [], 'the fixtures evaluate without warnings');
});

const pkg = (p: Partial<Package> & Pick<Package, 'name' | 'version' | 'type'>): Package => ({ purl: `pkg:x/${p.name}@${p.version}`, path: '/x', ...p });
const ALPINE: OsInfo = { id: 'alpine', versionId: '3.19.1' };
const DEBIAN9: OsInfo = { id: 'debian', versionId: '9' };
const UBUNTU: OsInfo = { id: 'ubuntu', versionId: '22.04' };

function match(packages: Package[], os?: OsInfo, using: AdvisoryDb = db): Finding[] {
  return matchPackages(using, packages, os, { now: NOW, warn: (m) => warnings.push(m) });
}

/** What most assertions compare: the identity, versions and severity of each finding. */
const brief = (f: Finding) => [f.id, f.package.name, f.installedVersion, f.fixedVersion, f.severity, f.score];

const record = (path: string) => JSON.parse(readFileSync(join(FIXTURES, 'records', path), 'utf8')) as { details?: string; summary?: string };

test('Alpine: matched by origin on the release branch, reported under the upstream CVE', () => {
  const musl = pkg({ name: 'musl-utils', version: '1.2.4_git20230717-r4', type: 'apk', source: { name: 'musl' } });
  assert.deepEqual(match([musl], ALPINE), [
    {
      id: 'CVE-2025-26519',
      aliases: ['ALPINE-CVE-2025-26519'],
      package: musl,
      installedVersion: '1.2.4_git20230717-r4',
      fixedVersion: '1.2.4_git20230717-r5',
      severity: 'HIGH',
      score: 7.0,
      cvssVector: 'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H',
      description: record('alpine/ALPINE-CVE-2025-26519.json').details,
      references: ['https://security.alpinelinux.org/vuln/CVE-2025-26519'],
      published: '2025-02-14T04:15:09.050Z',
      modified: '2026-07-08T04:32:24.548042624Z',
      sources: ['ALPINE-CVE-2025-26519'],
    },
  ]);
  const at = (version: string, os = ALPINE) => match([pkg({ name: 'musl', version, type: 'apk' })], os).map(brief);
  assert.deepEqual(at('1.2.4_git20230717-r5'), [], 'installed == fixed is not affected');
  assert.deepEqual(at('0.9.13'), [['CVE-2025-26519', 'musl', '0.9.13', '1.2.4_git20230717-r5', 'HIGH', 7]], 'installed == introduced is');
  assert.deepEqual(at('0.9.12'), []);
  assert.deepEqual(at('1.2.4-r2', { id: 'alpine', versionId: '3.18.4' }), [['CVE-2025-26519', 'musl', '1.2.4-r2', '1.2.4-r3', 'HIGH', 7]]);
  assert.deepEqual(at('1.2.4-r2', { id: 'alpine', versionId: '3.15.0' }), [], 'no advisory for that branch');
});

test('Debian: matched by source package and release, the DLA merged with its CVE', () => {
  const libssl = pkg({ name: 'libssl1.1', version: '1.1.0l-1~deb9u5', type: 'dpkg', source: { name: 'openssl' } });
  assert.deepEqual(match([libssl], DEBIAN9), [
    {
      id: 'CVE-2022-1292',
      aliases: ['DEBIAN-CVE-2022-1292', 'DLA-3008-1'],
      package: libssl,
      installedVersion: '1.1.0l-1~deb9u5',
      fixedVersion: '1.1.0l-1~deb9u6',
      severity: 'UNKNOWN',
      title: 'openssl - security update',
      references: [],
      published: '2022-05-14T00:00:00Z',
      modified: '2026-03-09T01:23:33.375630Z',
      sources: ['DLA-3008-1'],
    },
  ]);
  assert.deepEqual(match([{ ...libssl, version: '1.1.0l-1~deb9u6' }], DEBIAN9), [], 'installed == fixed');
  assert.deepEqual(match([libssl], { id: 'debian', versionId: '12' }), [], 'another release has its own advisories');
  assert.deepEqual(match([libssl], undefined), [], 'without os-release the release is unknown');
});

test('Ubuntu: one finding per CVE of a notice, limited to the CVEs it fixes in that release', () => {
  const libc6 = pkg({ name: 'libc6', version: '2.35-0ubuntu3.13', type: 'dpkg', source: { name: 'glibc' } });
  const usn = record('ubuntu/USN-8611-1.json');
  const findings = match([libc6], UBUNTU);
  assert.deepEqual(findings.map(brief), [
    ['CVE-2026-5450', 'libc6', '2.35-0ubuntu3.13', '2.35-0ubuntu3.14', 'CRITICAL', 9.8],
    ['CVE-2026-4046', 'libc6', '2.35-0ubuntu3.13', '2.35-0ubuntu3.14', 'HIGH', 7.5],
    ['CVE-2026-5435', 'libc6', '2.35-0ubuntu3.13', '2.35-0ubuntu3.14', 'HIGH', 7.3],
    ['CVE-2026-5928', 'libc6', '2.35-0ubuntu3.13', '2.35-0ubuntu3.14', 'HIGH', 7.5],
    ['CVE-2026-6238', 'libc6', '2.35-0ubuntu3.13', '2.35-0ubuntu3.14', 'MEDIUM', 6.5],
  ]);
  assert.deepEqual(findings[0], {
    id: 'CVE-2026-5450',
    aliases: ['UBUNTU-CVE-2026-5450', 'USN-8611-1'],
    package: libc6,
    installedVersion: '2.35-0ubuntu3.13',
    fixedVersion: '2.35-0ubuntu3.14',
    severity: 'CRITICAL',
    score: 9.8,
    cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    title: 'glibc vulnerabilities',
    description: usn.details,
    references: [
      'https://ubuntu.com/security/notices/USN-8611-1',
      ...['4046', '4437', '4438', '5435', '5450', '5928', '6238'].map((n) => `https://ubuntu.com/security/CVE-2026-${n}`),
    ],
    published: '2026-07-27T12:24:25Z',
    modified: '2026-07-27T21:14:45.559246235Z',
    sources: ['USN-8611-1'],
  });
  assert.deepEqual(match([{ ...libc6, version: '2.35-0ubuntu3.14' }], UBUNTU), []);
  // 24.04 is also fixed for the two DNS CVEs ("This issue only affected Ubuntu 24.04 LTS").
  const noble = match([{ ...libc6, version: '2.39-0ubuntu8.7' }], { id: 'ubuntu', versionId: '24.04' });
  assert.deepEqual(noble.map((f) => f.id).sort(), ['CVE-2026-4046', 'CVE-2026-4437', 'CVE-2026-4438', 'CVE-2026-5435', 'CVE-2026-5450', 'CVE-2026-5928', 'CVE-2026-6238']);
  assert.deepEqual(noble.find((f) => f.id === 'CVE-2026-4438')?.score, 5.4);
});

test('PyPI: the GHSA and the PYSEC record of one CVE are one finding', () => {
  const flask = pkg({ name: 'Flask', version: '2.3.1', type: 'python' });
  const ghsa = JSON.parse(readFileSync(join(FIXTURES, 'records', 'pypi', 'GHSA-m2qf-hxjv-5gpq.json'), 'utf8')) as {
    summary: string;
    details: string;
    references: { url: string }[];
  };
  const pysec = JSON.parse(readFileSync(join(FIXTURES, 'records', 'pypi', 'PYSEC-2023-62.json'), 'utf8')) as { references: { url: string }[] };
  assert.deepEqual(match([flask]), [
    {
      id: 'CVE-2023-30861',
      aliases: ['GHSA-m2qf-hxjv-5gpq', 'PYSEC-2023-62'],
      package: flask,
      installedVersion: '2.3.1',
      fixedVersion: '2.3.2',
      severity: 'HIGH',
      score: 7.5,
      cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
      title: ghsa.summary,
      description: ghsa.details,
      references: [...new Set([...ghsa.references, ...pysec.references].map((r) => r.url))],
      published: '2023-05-01T19:22:20Z',
      modified: '2023-11-08T04:12:28.231927Z',
      sources: ['GHSA-m2qf-hxjv-5gpq', 'PYSEC-2023-62'],
    },
  ]);
  const at = (version: string) => match([pkg({ name: 'flask', version, type: 'python' })]).map((f) => [f.id, f.fixedVersion]);
  assert.deepEqual(at('2.2.4'), [['CVE-2023-30861', '2.2.5']]);
  assert.deepEqual(at('2.2.5'), []);
  assert.deepEqual(at('2.3.0'), [['CVE-2023-30861', '2.3.2']], 'installed == introduced of the second range');
  assert.deepEqual(at('2.3.2'), []);
});

test('withdrawn records are never reported', () => {
  assert.deepEqual(match([pkg({ name: 'cryptography', version: '3.2', type: 'python' })]), []);
});

test('Go: modules with pseudo-version bounds, and the standard library as stdlib', () => {
  const at = (name: string, version: string) => match([pkg({ name, version, type: 'go-module' })]).map((f) => [f.id, f.aliases, f.installedVersion, f.fixedVersion, f.severity]);
  const runc = ['CVE-2021-43784', ['GHSA-v95c-p5hm-xq8f', 'GO-2022-0274']];
  assert.deepEqual(at('github.com/opencontainers/runc', 'v1.0.2'), [[...runc, '1.0.2', '1.1.0', 'UNKNOWN']]);
  assert.deepEqual(at('github.com/opencontainers/runc', 'v1.0.1-0.20211012131345-9c444070ec7b'), [
    [...runc, '1.0.1-0.20211012131345-9c444070ec7b', '1.1.0', 'UNKNOWN'],
  ]);
  assert.deepEqual(at('github.com/opencontainers/runc', 'v1.0.0'), []);
  assert.deepEqual(at('github.com/opencontainers/runc', 'v1.1.0'), []);
  const faccessat = ['CVE-2022-29526', ['BIT-golang-2022-29526', 'GHSA-p782-xgp4-8hr8', 'GO-2022-0493']];
  assert.deepEqual(at('stdlib', 'go1.18.1'), [[...faccessat, '1.18.1', '1.18.2', 'UNKNOWN']]);
  assert.deepEqual(at('stdlib', '1.17.9'), [[...faccessat, '1.17.9', '1.17.10', 'UNKNOWN']]);
  assert.deepEqual(at('stdlib', '1.17.10'), []);
  assert.deepEqual(at('golang.org/x/sys', 'v0.0.0-20211216021012-1d35b9e2eb4e'), [
    [...faccessat, '0.0.0-20211216021012-1d35b9e2eb4e', '0.0.0-20220412211240-33da011f77ad', 'UNKNOWN'],
  ]);
  assert.deepEqual(at('golang.org/x/sys', 'v0.0.0-20220412211240-33da011f77ad'), []);
});

test('Maven: fixed, last_affected (inclusive, unfixed) and explicit versions; CVSS 4.0', () => {
  const log4j = pkg({ name: 'org.apache.logging.log4j:log4j-core', version: '2.25.3', type: 'java' });
  const [finding] = match([log4j]);
  assert.deepEqual(finding, {
    id: 'CVE-2026-34480',
    aliases: ['GHSA-3pxv-7cmr-fjr4'],
    package: log4j,
    installedVersion: '2.25.3',
    fixedVersion: '2.25.4',
    severity: 'MEDIUM',
    score: 6.9,
    cvssVector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N',
    title: 'Apache Log4j Core: Silent log event loss in XmlLayout due to unescaped XML 1.0 forbidden characters',
    description: record('maven/GHSA-3pxv-7cmr-fjr4.json').details,
    references: finding?.references,
    published: '2026-04-10T18:31:17Z',
    modified: '2026-04-16T11:29:10.536806482Z',
    sources: ['GHSA-3pxv-7cmr-fjr4'],
  });
  assert.equal(finding?.references.length, 8);
  const at = (version: string) => match([{ ...log4j, version }]).map((f) => [f.id, f.fixedVersion ?? 'unfixed']);
  assert.deepEqual(at('2.0-alpha1'), [['CVE-2026-34480', '2.25.4']], 'installed == introduced');
  assert.deepEqual(at('2.25.4'), [], 'installed == fixed');
  assert.deepEqual(at('3.0.0-beta2'), [['CVE-2026-34480', 'unfixed']]);
  assert.deepEqual(at('3.0.0-beta3'), [['CVE-2026-34480', 'unfixed']], 'installed == last_affected');
  assert.deepEqual(at('3.0.0'), [], 'above last_affected');
});

test('npm: GHSA reported under its CVE; one record, two packages', () => {
  assert.deepEqual(match([pkg({ name: 'ansi-html', version: '0.0.7', type: 'npm' })]).map(brief), [['CVE-2021-23424', 'ansi-html', '0.0.7', '0.0.8', 'HIGH', 7.5]]);
  assert.deepEqual(match([pkg({ name: 'ansi-html', version: '0.0.8', type: 'npm' })]), []);
  assert.deepEqual(
    match([pkg({ name: 'lodash', version: '4.17.19', type: 'npm' }), pkg({ name: 'lodash-es', version: '4.17.15', type: 'npm' })]).map(brief),
    [
      ['CVE-2020-8203', 'lodash', '4.17.19', '4.17.20', 'HIGH', 7.4],
      ['CVE-2020-8203', 'lodash-es', '4.17.15', '4.17.20', 'HIGH', 7.4],
    ],
  );
});

test('the newer revision of an advisory decides', async () => {
  const t = tempDir();
  const old = AdvisoryDb.open(t.dir);
  try {
    await old.import(join(FIXTURES, 'superseded'));
    const ansi = pkg({ name: 'ansi-html', version: '0.0.8', type: 'npm' });
    assert.deepEqual(match([ansi], undefined, old).map(brief), [['CVE-2021-23424', 'ansi-html', '0.0.8', '0.0.9', 'HIGH', 7.5]]);
    await old.import(join(FIXTURES, 'records', 'npm'));
    assert.deepEqual(match([ansi], undefined, old), []);
  } finally {
    old.close();
    t.cleanup();
  }
});

test('findings come out ordered by severity, then ID, then package', () => {
  const packages = [
    pkg({ name: 'org.apache.logging.log4j:log4j-core', version: '2.25.3', type: 'java' }),
    pkg({ name: 'stdlib', version: '1.18.1', type: 'go-module' }),
    pkg({ name: 'lodash', version: '4.17.19', type: 'npm' }),
    pkg({ name: 'ansi-html', version: '0.0.7', type: 'npm' }),
    pkg({ name: 'libc6', version: '2.35-0ubuntu3.13', type: 'dpkg', source: { name: 'glibc' } }),
    pkg({ name: 'unknown-package', version: '1.0.0', type: 'npm' }),
  ];
  const ids = match(packages, UBUNTU).map((f) => `${f.severity} ${f.id} ${f.package.name}`);
  assert.deepEqual(ids, [
    'CRITICAL CVE-2026-5450 libc6',
    'HIGH CVE-2020-8203 lodash',
    'HIGH CVE-2021-23424 ansi-html',
    'HIGH CVE-2026-4046 libc6',
    'HIGH CVE-2026-5435 libc6',
    'HIGH CVE-2026-5928 libc6',
    'MEDIUM CVE-2026-34480 org.apache.logging.log4j:log4j-core',
    'MEDIUM CVE-2026-6238 libc6',
    'UNKNOWN CVE-2022-29526 stdlib',
  ]);
  assert.deepEqual(match([...packages].reverse(), UBUNTU).map((f) => `${f.severity} ${f.id} ${f.package.name}`), ids);
});
