/*
 * A scan as Trivy's JSON report (`trivy image --format json`, SchemaVersion 2),
 * so tools that read Trivy reports read berth's. Field names, nesting and
 * order follow Trivy's pkg/types/report.go (Report, Metadata, Result),
 * pkg/types/vulnerability.go (DetectedVulnerability with trivy-db's
 * Vulnerability embedded) and pkg/fanal/types/package.go (Package), as
 * Trivy's integration golden files show them
 * (test/fixtures/schemas/trivy-debian-buster.json.golden). Empty fields are
 * left out, as Go's `omitempty` does.
 *
 * What berth fills differently, because its data is not Trivy's:
 * - `PrimaryURL` is the vulnerability's page on osv.dev (Trivy links its own
 *   AVD pages);
 * - `CVSS` has one entry, keyed `osv`, with the vector the severity came from
 *   (Trivy keys one entry per vendor: nvd, redhat, ghsa, ...);
 * - `VendorIDs` holds the finding's aliases (Trivy: the vendor advisories,
 *   such as DSA-4613-1, which OSV lists as aliases too);
 * - `Layer` has the layer's `Digest` only (no DiffID);
 * - `CreatedAt` is when the scan ran.
 * Left out for want of data: SeveritySource, DataSource, CweIDs,
 * Metadata.DiffIDs and Metadata.ImageConfig. berth adds no field of its own.
 */
import { parseImageReference } from '../../oci/reference.js';
import type { Finding, Package, ScanResult } from '../types.js';
import { advisoryUrl, packageId, relativePath, reportTargets, trivyOsFamily, type ReportTarget } from './targets.js';

/** What to put in the report besides the findings. */
export interface TrivyJsonOptions {
  /** Also list every package of each result (`--list-all-pkgs`). */
  includePackages?: boolean;
}

/** The whole report (Trivy: types.Report). */
export interface TrivyReport {
  SchemaVersion: 2;
  CreatedAt: string;
  ArtifactName: string;
  ArtifactType: 'container_image';
  Metadata: TrivyMetadata;
  Results?: TrivyResult[];
}

/** About the image (Trivy: types.Metadata). */
export interface TrivyMetadata {
  OS?: { Family: string; Name?: string };
  ImageID?: string;
  RepoDigests?: string[];
}

/** One target (Trivy: types.Result). */
export interface TrivyResult {
  Target: string;
  Class: string;
  Type: string;
  Packages?: TrivyPackage[];
  Vulnerabilities?: TrivyVulnerability[];
}

/** The layer a package came from (Trivy: ftypes.Layer). */
export interface TrivyLayer {
  Digest: string;
}

/** One package, with `includePackages` (Trivy: ftypes.Package). */
export interface TrivyPackage {
  ID: string;
  Name: string;
  Identifier: { PURL: string };
  Version: string;
  Arch?: string;
  SrcName?: string;
  SrcVersion?: string;
  Licenses?: string[];
  Layer?: TrivyLayer;
  FilePath?: string;
}

/** One CVSS entry (trivy-db: types.CVSS); version 2 is not used by berth. */
export interface TrivyCvss {
  V3Vector?: string;
  V40Vector?: string;
  V3Score?: number;
  V40Score?: number;
}

/** One finding (Trivy: types.DetectedVulnerability with trivy-db's Vulnerability embedded). */
export interface TrivyVulnerability {
  VulnerabilityID: string;
  VendorIDs?: string[];
  PkgID: string;
  PkgName: string;
  PkgPath?: string;
  PkgIdentifier: { PURL: string };
  InstalledVersion: string;
  FixedVersion?: string;
  Status: 'fixed' | 'affected';
  Layer?: TrivyLayer;
  PrimaryURL: string;
  Title?: string;
  Description?: string;
  Severity: string;
  CVSS?: Record<string, TrivyCvss>;
  References?: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
}

/** Drops the keys whose value is undefined or an empty array, as Go's `omitempty` does. */
function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out as T;
}

/**
 * `repository@digest` for a name that is an image reference; undefined for a
 * name that is not (an archive path, for instance), as Trivy leaves
 * RepoDigests out for archives.
 */
function repoDigest(name: string, digest: string): string | undefined {
  try {
    const ref = parseImageReference(name);
    const explicitRegistry = ref.registry !== 'docker.io' || name.startsWith('docker.io/');
    return `${explicitRegistry ? `${ref.registry}/` : ''}${ref.name}@${digest}`;
  } catch {
    return undefined;
  }
}

function cvss(finding: Finding): Record<string, TrivyCvss> | undefined {
  const vector = finding.cvssVector;
  if (vector === undefined) return undefined;
  const v4 = vector.startsWith('CVSS:4.0/');
  const entry: TrivyCvss = v4 ? { V40Vector: vector, V40Score: finding.score } : { V3Vector: vector, V3Score: finding.score };
  return { osv: compact(entry) };
}

function layer(pkg: Package): TrivyLayer | undefined {
  return pkg.layer === undefined ? undefined : { Digest: pkg.layer };
}

function vulnerability(finding: Finding, target: ReportTarget): TrivyVulnerability {
  const pkg = finding.package;
  return compact<TrivyVulnerability>({
    VulnerabilityID: finding.id,
    VendorIDs: finding.aliases,
    PkgID: packageId(pkg),
    PkgName: pkg.name,
    PkgPath: target.aggregated ? relativePath(pkg.path) : undefined,
    PkgIdentifier: { PURL: pkg.purl },
    InstalledVersion: finding.installedVersion,
    FixedVersion: finding.fixedVersion,
    Status: finding.fixedVersion === undefined ? 'affected' : 'fixed',
    Layer: layer(pkg),
    PrimaryURL: advisoryUrl(finding.id),
    Title: finding.title,
    Description: finding.description,
    Severity: finding.severity,
    CVSS: cvss(finding),
    References: finding.references,
    PublishedDate: finding.published,
    LastModifiedDate: finding.modified,
  });
}

function trivyPackage(pkg: Package, target: ReportTarget): TrivyPackage {
  return compact<TrivyPackage>({
    ID: packageId(pkg),
    Name: pkg.name,
    Identifier: { PURL: pkg.purl },
    Version: pkg.version,
    Arch: pkg.arch,
    SrcName: pkg.source?.name,
    SrcVersion: pkg.source?.version,
    Licenses: pkg.licenses,
    Layer: layer(pkg),
    FilePath: target.aggregated ? relativePath(pkg.path) : undefined,
  });
}

/**
 * The report of one scan. Pure: the same result gives the same report. One
 * result per target (see reportTargets); a target's packages are listed only
 * with `includePackages`. Never throws.
 */
export function trivyJsonReport(result: ScanResult, opts: TrivyJsonOptions = {}): TrivyReport {
  const { artifact, os } = result;
  const repo = repoDigest(artifact.name, artifact.digest);
  const results = reportTargets(result).map((t) =>
    compact<TrivyResult>({
      Target: t.target,
      Class: t.class,
      Type: t.type,
      Packages: opts.includePackages ? t.packages.map((p) => trivyPackage(p, t)) : undefined,
      Vulnerabilities: t.findings.map((f) => vulnerability(f, t)),
    }),
  );
  return compact<TrivyReport>({
    SchemaVersion: 2,
    CreatedAt: result.scannedAt,
    ArtifactName: artifact.name,
    ArtifactType: 'container_image',
    Metadata: compact<TrivyMetadata>({
      OS: os ? compact({ Family: trivyOsFamily(os), Name: os.versionId }) : undefined,
      ImageID: artifact.configDigest,
      RepoDigests: repo ? [repo] : undefined,
    }),
    Results: results,
  });
}
