/**
 * `berth scan IMAGE`: inventory an image (a registry reference, `oci:DIR[:tag]` or
 * `docker-archive:FILE`), match it against the local advisory database and report, the way
 * CI pipelines use Trivy: `--severity CRITICAL,HIGH --exit-code 1` fails the build when such a
 * finding remains after `--ignore-unfixed` and the ignore file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { openImageSource, platformsOf, type ImageSource, type ManifestBytes } from '../client/image-source.js';
import { INDEX_TYPES } from '../oci/media-type.js';
import { AdvisoryDb, AdvisoryDbError } from '../scan/advisories/index.js';
import { findVulnerabilities, scanResult, takeInventory, type Inventory } from '../scan/scanner.js';
import { filterFindings, parseIgnoreFile, type IgnoreRule } from '../scan/report/filter.js';
import { tableReport } from '../scan/report/table.js';
import { trivyJsonReport } from '../scan/report/trivy-json.js';
import { sarifReport } from '../scan/report/sarif.js';
import { cycloneDxBom } from '../scan/sbom/cyclonedx.js';
import { spdxDocument } from '../scan/sbom/spdx.js';
import { SEVERITIES, type ScanResult, type Severity } from '../scan/types.js';
import { BERTH_VERSION } from '../version.js';
import { resolveCredentials, runAction } from './management-command.js';
import { progress } from './progress.js';
import { cliDbDir } from './scan-db-dir.js';

const FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx'] as const;
type Format = (typeof FORMATS)[number];

interface ScanOptions {
  dbDir?: string;
  severity?: string;
  exitCode: number;
  ignoreUnfixed?: boolean;
  ignorefile?: string;
  format: Format;
  output?: string;
  platform?: string;
  insecure?: boolean;
  username?: string;
  password?: string;
  listAllPkgs?: boolean;
  quiet?: boolean;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('Scan an image for vulnerabilities: a registry reference, oci:DIR[:tag] or docker-archive:FILE')
    .argument('<image>', 'what to scan')
    .option('--db-dir <dir>', 'advisory database directory (default $BERTH_SCAN_DB_DIR or ~/.cache/berth/db)')
    .option('--severity <list>', 'report only these severities, e.g. CRITICAL,HIGH')
    .addOption(new Option('--exit-code <n>', 'exit with this code when a reported finding remains').argParser(exitCode).default(0))
    .option('--ignore-unfixed', 'leave out findings without a published fix')
    .option('--ignorefile <file>', 'vulnerability IDs to ignore (.trivyignore format, or .trivyignore.yaml)')
    .addOption(new Option('--format <format>', 'report format').choices(FORMATS).default('table'))
    .option('--output <file>', 'write the report to a file instead of stdout')
    .option('--platform <os/arch[/variant]>', 'which platform of a multi-platform image (default linux/amd64, else the first)')
    .option('--list-all-pkgs', 'json: list every package, not only vulnerable ones')
    .option('--insecure', 'allow plain HTTP to a registry that is not localhost')
    .option('--username <name>', 'registry user (default: the credentials berth login stored)')
    .option('--password <password>', 'password for --username')
    .option('--quiet', 'no progress display')
    .action(runAction(async (image: string, opts: ScanOptions) => scan(image, opts)));
}

async function scan(ref: string, opts: ScanOptions): Promise<void> {
  const severities = opts.severity ? parseSeverities(opts.severity) : undefined;
  const ignore: IgnoreRule[] = opts.ignorefile ? parseIgnoreFile(await readFile(opts.ignorefile, 'utf8')) : [];
  const sbomOnly = opts.format === 'cyclonedx' || opts.format === 'spdx';
  // The database is opened first: a missing one is reported before any layer is downloaded.
  let db: AdvisoryDb | undefined;
  try {
    db = AdvisoryDb.open(cliDbDir(opts.dbDir), { readonly: true });
  } catch (e) {
    if (!(e instanceof AdvisoryDbError) || !sbomOnly) throw e;
  }
  // Progress only for people: never with a machine-readable format (or in CI, or off a terminal).
  const bar = progress({ quiet: opts.quiet || opts.format !== 'table' });
  const source = await openImageSource(ref, {
    insecure: opts.insecure,
    credentials: async (url) => (await resolveCredentials({ server: url, username: opts.username, password: opts.password }, url))?.credentials,
  });
  let result: ScanResult;
  try {
    const manifest = await chooseManifest(source, opts.platform);
    const image = {
      name: ref,
      digest: manifest.bytes.digest,
      manifest: manifest.bytes.bytes,
      mediaType: manifest.bytes.mediaType,
      platform: manifest.platform,
      openBlob: async (d: { digest: string; size: number }) => source.blob(d.digest, d.size),
    };
    const inventory: Inventory = await takeInventory(image, {
      onLayer: (i, n, d) => bar.update(`${ref}: reading layer ${i + 1}/${n} (${d.digest.slice(7, 19)})`, i, n),
    });
    bar.update(`${ref}: matching ${inventory.packages.length} packages`);
    const findings = db ? findVulnerabilities(db, inventory, (m) => inventory.warnings.push(m)) : [];
    const status = db?.status();
    result = scanResult(image, inventory, findings, status && { updatedAt: status.updatedAt, records: status.records, generation: status.generation });
  } finally {
    bar.done();
    db?.close();
    await source.close();
  }
  const kept = filterFindings(result.findings, { severities, ignoreUnfixed: opts.ignoreUnfixed, ignore, now: new Date() });
  const report = render({ ...result, findings: kept }, opts);
  if (opts.output) await writeFile(opts.output, report);
  else process.stdout.write(report);
  for (const w of result.warnings.slice(0, 20)) process.stderr.write(`berth: warning: ${w}\n`);
  if (kept.length > 0 && opts.exitCode !== 0) process.exitCode = opts.exitCode;
}

/** The image manifest to scan: the reference's, or for an index the platform asked for. */
async function chooseManifest(source: ImageSource, platform: string | undefined): Promise<{ bytes: ManifestBytes; platform?: string }> {
  const root = await source.root();
  if (!INDEX_TYPES.includes(root.mediaType)) {
    if (platform) process.stderr.write(`berth: warning: ${source.name} is a single-platform image; --platform ignored\n`);
    return { bytes: root };
  }
  const platforms = platformsOf(root);
  if (platforms.length === 0) throw new Error(`${source.name} is an index without any platform image`);
  const wanted = platform ?? 'linux/amd64';
  const chosen = platforms.find((p) => p.platform === wanted) ?? (platform ? undefined : platforms[0]);
  if (!chosen) {
    throw new Error(`${source.name} has no ${wanted} image; it has ${platforms.map((p) => p.platform).join(', ')}`);
  }
  return { bytes: await source.manifest(chosen.descriptor.digest), platform: chosen.platform };
}

function render(result: ScanResult, opts: ScanOptions): string {
  const json = (doc: unknown) => JSON.stringify(doc, null, 2) + '\n';
  switch (opts.format) {
    case 'json':
      return json(trivyJsonReport(result, { includePackages: opts.listAllPkgs }));
    case 'sarif':
      return json(sarifReport(result, { toolVersion: BERTH_VERSION }));
    case 'cyclonedx':
      return json(cycloneDxBom(result, { toolVersion: BERTH_VERSION }));
    case 'spdx':
      return json(spdxDocument(result, { toolVersion: BERTH_VERSION }));
    case 'table':
      return tableReport(result, { color: opts.output === undefined && process.stdout.isTTY === true, width: process.stdout.columns });
  }
}

function parseSeverities(text: string): Severity[] {
  const list = text.split(',').map((s) => s.trim().toUpperCase());
  for (const s of list) {
    if (!SEVERITIES.includes(s as Severity)) throw new Error(`--severity: ${JSON.stringify(s)} is not one of ${SEVERITIES.join(', ')}`);
  }
  return list as Severity[];
}

function exitCode(text: string): number {
  const n = Number(text);
  if (!/^\d{1,3}$/.test(text) || n > 255) throw new InvalidArgumentError('must be a number from 0 to 255');
  return n;
}
