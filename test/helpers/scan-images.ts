import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from './build-tool-fixtures.js';
import { filesLayer, makeLayoutImage, type LayoutImage } from './oci-layout.js';

/**
 * An image built from real file formats for the scanning tests: an Alpine 3.19
 * root with a real /lib/apk/db/installed (syft's test data: musl
 * 1.2.4_git20230717-r4), and an application layer with an npm lockfile (v3).
 * What the committed OSV fixtures (test/fixtures/osv, real advisories) say of
 * these packages is EXPECTED below, copied from the advisories themselves:
 * their IDs, their fixed versions, and the severity their CVSS v3.1 vectors
 * give by the specification's formula (worked by hand in the comments).
 */
export const FIXTURES_ROOT = join(fixturesDir(), '..');
export const OSV_RECORDS = join(FIXTURES_ROOT, 'osv', 'records');

const apkInstalled = readFileSync(join(FIXTURES_ROOT, 'scan-os', 'apk', 'installed-multiple'));

/** package-lock.json v3 as npm 9 writes it (packages map keyed by node_modules path). */
const packageLock = JSON.stringify(
  {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { 'ansi-html': '0.0.7', lodash: '4.17.15', 'lodash-es': '4.17.21' } },
      'node_modules/ansi-html': { version: '0.0.7', resolved: 'https://registry.npmjs.org/ansi-html/-/ansi-html-0.0.7.tgz', license: 'Apache-2.0' },
      'node_modules/lodash': { version: '4.17.15', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz', license: 'MIT' },
      'node_modules/lodash-es': { version: '4.17.21', resolved: 'https://registry.npmjs.org/lodash-es/-/lodash-es-4.17.21.tgz', license: 'MIT' },
    },
  },
  null,
  2,
);

export function vulnerableImage(seed = 401): LayoutImage {
  const base = filesLayer([
    { name: 'etc' },
    { name: 'etc/os-release', content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' },
    { name: 'lib' },
    { name: 'lib/apk' },
    { name: 'lib/apk/db' },
    { name: 'lib/apk/db/installed', content: apkInstalled },
    { name: 'seed', content: String(seed) },
  ]);
  const app = filesLayer([{ name: 'app' }, { name: 'app/package-lock.json', content: packageLock }]);
  return makeLayoutImage({ seed, layers: [base, app] });
}

export interface ExpectedFinding {
  id: string;
  pkg: string;
  installed: string;
  fixed: string;
  severity: string;
}

/**
 * - ALPINE-CVE-2025-26519 (musl, Alpine:v3.19: fixed 1.2.4_git20230717-r5), CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H:
 *   impact 6.42 x (1 - 0.44^3) = 5.873, exploitability 8.22 x 0.55 x 0.44 x 0.62 x 0.85 = 1.048, roundup(6.921) = 7.0: HIGH.
 * - GHSA-p6mc-m468-83gw = CVE-2020-8203 (lodash < 4.17.20), CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H:
 *   impact 6.42 x (1 - 0.44) ... = 5.177, exploitability 8.22 x 0.85 x 0.44 x 0.85 x 0.85 = 2.221, 7.4: HIGH.
 *   lodash-es 4.17.21 is past the fix: no finding.
 * - GHSA-whgm-jr23-g3j9 = CVE-2021-23424 (ansi-html < 0.0.8), CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H:
 *   impact 6.42 x 0.56 = 3.595, exploitability 8.22 x 0.85 x 0.77 x 0.85 x 0.85 = 3.887, 7.5: HIGH.
 */
export const EXPECTED: ExpectedFinding[] = [
  { id: 'CVE-2025-26519', pkg: 'musl', installed: '1.2.4_git20230717-r4', fixed: '1.2.4_git20230717-r5', severity: 'HIGH' },
  { id: 'CVE-2020-8203', pkg: 'lodash', installed: '4.17.15', fixed: '4.17.20', severity: 'HIGH' },
  { id: 'CVE-2021-23424', pkg: 'ansi-html', installed: '0.0.7', fixed: '0.0.8', severity: 'HIGH' },
];
