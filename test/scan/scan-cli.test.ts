import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { berth as berthCli, type CliResult } from '../helpers/berth-cli.js';
import { imageBlobs, writeLayout, type LayoutImage } from '../helpers/oci-layout.js';
import { onPath, runCommand } from '../helpers/e2e-process.js';
import { EXPECTED, OSV_RECORDS, vulnerableImage } from '../helpers/scan-images.js';

/**
 * `berth db` and `berth scan` as CI runs them: the real CLI process, an
 * advisory database imported from the committed real OSV records, images in
 * an OCI layout, a docker-archive written by skopeo, and a running berth.
 * Expected findings come from the advisories (test/helpers/scan-images.ts).
 */

const SKOPEO = onPath('skopeo');

/** The CLI as CI runs it (CI set: no progress display), with the test's own Docker config. */
const berth = (args: string[]) => berthCli(args, { dockerConfig: join(tmpdir(), 'berth-scan-no-docker-config'), env: { CI: 'true' } });
const describeRun = (r: CliResult): string => `exit ${r.code}\nstdout: ${r.out.slice(0, 2000)}\nstderr: ${r.err}`;

interface TrivyVuln {
  VulnerabilityID: string;
  PkgName: string;
  InstalledVersion: string;
  FixedVersion?: string;
  Severity: string;
  PkgIdentifier: { PURL?: string };
}
interface TrivyReport {
  SchemaVersion: number;
  ArtifactName: string;
  Results?: { Target: string; Class: string; Type: string; Vulnerabilities?: TrivyVuln[] }[];
}

const found = (r: TrivyReport) =>
  (r.Results ?? [])
    .flatMap((res) => res.Vulnerabilities ?? [])
    .map((v) => ({ id: v.VulnerabilityID, pkg: v.PkgName, installed: v.InstalledVersion, fixed: v.FixedVersion ?? '', severity: v.Severity }))
    .sort((a, b) => a.id.localeCompare(b.id));

const expectedSorted = [...EXPECTED].sort((a, b) => a.id.localeCompare(b.id));

describe('berth db and berth scan', () => {
  let dir: string;
  let dbDir: string;
  let layout: string;
  let image: LayoutImage;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-scan-cli-'));
    dbDir = join(dir, 'db');
    layout = join(dir, 'layout');
    image = vulnerableImage();
    await writeLayout(layout, [{ tag: '1', descriptor: image.descriptor }], imageBlobs(image));
    const r = await berth(['db', 'import', OSV_RECORDS, '--db-dir', dbDir, '--format', 'json']);
    assert.equal(r.code, 0, describeRun(r));
    const summary = JSON.parse(r.out) as { records: number; added: number; skipped: number };
    assert.equal(summary.skipped, 0);
    assert.equal(summary.added, summary.records);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('db status names the ecosystems and counts; a missing database is a clear error', async () => {
    const r = await berth(['db', 'status', '--db-dir', dbDir, '--format', 'json']);
    assert.equal(r.code, 0, describeRun(r));
    const s = JSON.parse(r.out) as { records: number; generation: number; ecosystems: { name: string }[] };
    assert.ok(s.generation >= 1);
    for (const e of ['Alpine', 'npm', 'PyPI', 'Go', 'Maven', 'Debian', 'Ubuntu']) assert.ok(s.ecosystems.some((x) => x.name === e), e);
    const missing = await berth(['db', 'status', '--db-dir', join(dir, 'nothing')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no advisory database/);
  });

  test('--format json is a Trivy report with exactly the expected findings', async () => {
    const r = await berth(['scan', `oci:${layout}:1`, '--db-dir', dbDir, '--format', 'json']);
    assert.equal(r.code, 0, describeRun(r));
    const report = JSON.parse(r.out) as TrivyReport;
    assert.equal(report.SchemaVersion, 2);
    assert.equal(report.ArtifactName, `oci:${layout}:1`);
    assert.deepEqual(found(report), expectedSorted);
    const os = report.Results!.find((x) => x.Class === 'os-pkgs')!;
    assert.equal(os.Type, 'alpine');
    assert.match(os.Target, /\(alpine 3\.19\.1\)$/);
    const lang = report.Results!.find((x) => x.Class === 'lang-pkgs')!;
    assert.equal(lang.Target, 'app/package-lock.json');
    assert.equal(lang.Type, 'npm');
    const lodash = lang.Vulnerabilities!.find((v) => v.PkgName === 'lodash')!;
    assert.equal(lodash.PkgIdentifier.PURL, 'pkg:npm/lodash@4.17.15');
  });

  test('the CI gate: --severity and --exit-code, --ignore-unfixed and an ignore file', async () => {
    const base = ['scan', `oci:${layout}:1`, '--db-dir', dbDir, '--format', 'json', '--exit-code', '3'];
    const critical = await berth([...base, '--severity', 'CRITICAL']);
    assert.equal(critical.code, 0, 'no CRITICAL finding: the build passes');
    assert.deepEqual(found(JSON.parse(critical.out) as TrivyReport), []);
    const high = await berth([...base, '--severity', 'CRITICAL,HIGH']);
    assert.equal(high.code, 3, describeRun(high));
    assert.deepEqual(found(JSON.parse(high.out) as TrivyReport), expectedSorted);
    assert.equal((await berth([...base, '--severity', 'CRITICAL,HIGH', '--ignore-unfixed'])).code, 3, 'every finding has a fix');
    const ignore = join(dir, '.trivyignore');
    await writeFile(ignore, '# accepted until the base image moves\nCVE-2025-26519\nCVE-2020-8203 exp:2999-01-01\n# expired: counts again\nCVE-2021-23424 exp:2000-01-01\n');
    const ignored = await berth([...base, '--severity', 'HIGH', '--ignorefile', ignore]);
    assert.equal(ignored.code, 3);
    assert.deepEqual(
      found(JSON.parse(ignored.out) as TrivyReport).map((f) => f.id),
      ['CVE-2021-23424'],
    );
    await writeFile(ignore, 'CVE-2025-26519\nCVE-2020-8203\nGHSA-whgm-jr23-g3j9\n');
    assert.equal((await berth([...base, '--severity', 'HIGH', '--ignorefile', ignore])).code, 0, 'an alias ignores its vulnerability');
    const bad = await berth([...base, '--severity', 'SEVERE']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /SEVERE/);
  });

  test('table, SARIF, CycloneDX and SPDX outputs; --output writes a file', async () => {
    const table = await berth(['scan', `oci:${layout}:1`, '--db-dir', dbDir]);
    assert.equal(table.code, 0, describeRun(table));
    assert.match(table.out, /Total: 1 \(.*HIGH: 1/);
    for (const e of EXPECTED) assert.ok(table.out.includes(e.id), e.id);
    const out = join(dir, 'report.sarif');
    assert.equal((await berth(['scan', `oci:${layout}:1`, '--db-dir', dbDir, '--format', 'sarif', '--output', out])).code, 0);
    const sarif = JSON.parse(await readFile(out, 'utf8')) as { version: string; runs: { results: { ruleId: string }[] }[] };
    assert.equal(sarif.version, '2.1.0');
    assert.deepEqual([...new Set(sarif.runs[0]!.results.map((x) => x.ruleId))].sort(), expectedSorted.map((e) => e.id));
    const cdx = await berth(['scan', `oci:${layout}:1`, '--db-dir', dbDir, '--format', 'cyclonedx']);
    assert.equal(cdx.code, 0, describeRun(cdx));
    const bom = JSON.parse(cdx.out) as { bomFormat: string; specVersion: string; components: { purl?: string }[] };
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    for (const purl of ['pkg:npm/lodash@4.17.15', 'pkg:npm/lodash-es@4.17.21', 'pkg:npm/ansi-html@0.0.7']) {
      assert.ok(bom.components.some((c) => c.purl === purl), purl);
    }
    assert.ok(bom.components.some((c) => c.purl?.startsWith('pkg:apk/alpine/musl@1.2.4_git20230717-r4')));
    // An SBOM needs no advisory database.
    const spdx = await berth(['scan', `oci:${layout}:1`, '--db-dir', join(dir, 'no-db'), '--format', 'spdx']);
    assert.equal(spdx.code, 0, describeRun(spdx));
    assert.equal((JSON.parse(spdx.out) as { spdxVersion: string }).spdxVersion, 'SPDX-2.3');
    const noDb = await berth(['scan', `oci:${layout}:1`, '--db-dir', join(dir, 'no-db')]);
    assert.equal(noDb.code, 1);
    assert.match(noDb.err, /no advisory database/);
  });

  describe('images from skopeo and from a registry', { skip: SKOPEO === undefined ? 'skopeo is not on PATH' : false }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer();
    });

    after(async () => {
      await server?.stop();
    });

    test('a docker-archive written by skopeo and an image in a running registry give the same findings', async () => {
      const archive = join(dir, 'image.tar');
      const copy = await runCommand(SKOPEO!, ['--insecure-policy', 'copy', `oci:${layout}:1`, `docker-archive:${archive}:team/app:1`]);
      assert.equal(copy.code, 0, copy.describe());
      const fromArchive = await berth(['scan', `docker-archive:${archive}`, '--db-dir', dbDir, '--format', 'json']);
      assert.equal(fromArchive.code, 0, describeRun(fromArchive));
      assert.deepEqual(found(JSON.parse(fromArchive.out) as TrivyReport), expectedSorted);
      const push = await runCommand(SKOPEO!, ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${server.host}/team/app:1`]);
      assert.equal(push.code, 0, push.describe());
      const fromRegistry = await berth(['scan', `${server.host}/team/app:1`, '--db-dir', dbDir, '--format', 'json']);
      assert.equal(fromRegistry.code, 0, describeRun(fromRegistry));
      assert.deepEqual(found(JSON.parse(fromRegistry.out) as TrivyReport), expectedSorted);
      const unknown = await berth(['scan', `${server.host}/team/nothing:1`, '--db-dir', dbDir]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.err, /manifest 1 is not in .*team\/nothing/);
    });
  });
});
