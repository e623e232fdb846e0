/**
 * The scanner's shared vocabulary: what the layer reader hands catalogers,
 * what catalogers find, what the matcher reports. Each part of scan/ (layers,
 * catalog, versions, advisories, sbom, report) speaks these types and nothing
 * of the others' internals.
 */

/** A file of the image's final filesystem (after every layer, whiteouts applied). */
export interface ImageFile {
  /** Absolute, normalised path inside the image: `/etc/os-release`. Never contains `..` or `//`. */
  path: string;
  size: number;
  /** Unix permission bits and type bits as the tar header gave them. */
  mode: number;
  /** Digest of the layer that last wrote this path. */
  layer: string;
  /** The file's bytes (kept only for files a cataloger selected). */
  content: Buffer;
}

/** The kept files of an image, symlinks resolved inside the image (never outside it). */
export interface FileTree {
  /** The file at `path`, following symlinks (bounded); undefined when absent or not kept. */
  get(path: string): ImageFile | undefined;
  /** Every kept regular file whose path satisfies `match`, in path order. */
  list(match: (path: string) => boolean): ImageFile[];
}

/** `/etc/os-release` (or `/usr/lib/os-release`), as the os-release(5) keys say. */
export interface OsInfo {
  /** ID: debian, ubuntu, alpine, rhel, fedora, rocky, almalinux, wolfi, ... */
  id: string;
  /** VERSION_ID: 12, 3.19.1, 9.3, 22.04 ... */
  versionId?: string;
  versionCodename?: string;
  prettyName?: string;
  /** ID_LIKE, split on spaces. */
  idLike?: string[];
}

/** What found a package, which decides its advisory ecosystem and version rules. */
export type PackageType = 'apk' | 'dpkg' | 'rpm' | 'npm' | 'python' | 'go-module' | 'java' | 'gem' | 'cargo';

/** One installed package, as found in the image. */
export interface Package {
  /** The name as its ecosystem spells it (Maven: `group:artifact`; Go: the module path). */
  name: string;
  version: string;
  type: PackageType;
  /** Package URL (https://github.com/package-url/purl-spec), made with packageurl-js. */
  purl: string;
  /** Where it was found: the database, lockfile, manifest or binary path inside the image. */
  path: string;
  /** Digest of the layer that holds `path`. */
  layer?: string;
  /** OS packages: the source package advisories are keyed by (dpkg `Source:`, apk origin, rpm source RPM). */
  source?: { name: string; version?: string };
  licenses?: string[];
  /** Architecture, for OS packages. */
  arch?: string;
}

/**
 * A cataloger finds packages of one kind. The layer reader asks `select` about
 * every file header (before reading its bytes) and either keeps the bytes for
 * `catalog` (small database and manifest files), hands them to `inspect` at
 * once and drops them (binaries and archives, so memory holds one at a time),
 * or skips them. Results of `inspect` are tied to the path: a later layer that
 * deletes or replaces the file drops them.
 */
export interface Cataloger {
  readonly name: string;
  select(path: string, size: number, mode: number): 'keep' | 'inspect' | undefined;
  /** Packages inside one file (a Go binary, a JAR). Throws only for bugs; bad files give []. */
  inspect?(file: ImageFile): Promise<Package[]>;
  /** Packages from the kept files (databases, lockfiles, metadata). Bad files give [] and a warning. */
  catalog?(tree: FileTree, os: OsInfo | undefined, warn: (message: string) => void): Promise<Package[]>;
}

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';

/** Severities from the worst down: reports sort and count in this order; a threshold includes everything above it. */
export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];

/** Sort key: CRITICAL first (0), UNKNOWN last. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** One vulnerability affecting one installed package. */
export interface Finding {
  /** The vulnerability's preferred ID: its CVE when it has one, else the advisory's own (GHSA-..., RUSTSEC-...). */
  id: string;
  /** Every other ID the same vulnerability goes by (advisory IDs and aliases merged). */
  aliases: string[];
  package: Package;
  /** The version that was compared: for OS packages keyed by source (Debian, Ubuntu, Alpine), the source version. */
  installedVersion: string;
  /** The lowest version that fixes it on this package's line; undefined when no fix is published. */
  fixedVersion?: string;
  severity: Severity;
  /** CVSS base score, when a vector gave one. */
  score?: number;
  /** The CVSS vector the severity came from. */
  cvssVector?: string;
  title?: string;
  description?: string;
  /** Advisory and reference URLs. */
  references: string[];
  published?: string;
  modified?: string;
  /** IDs of the OSV records that produced this finding. */
  sources: string[];
}

/** Everything one scan of one image manifest produced. */
export interface ScanResult {
  /** What was scanned: the reference as given and the manifest digest. */
  artifact: { name: string; digest: string; mediaType?: string; platform?: string; configDigest?: string };
  os?: OsInfo;
  packages: Package[];
  findings: Finding[];
  /** Non-fatal problems: unreadable files, skipped layers, limits hit. */
  warnings: string[];
  /** The advisory database the findings come from. */
  db?: { updatedAt?: string; records: number; generation: number };
  scannedAt: string;
}
