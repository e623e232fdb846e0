/*
 * What every report shares: the scan's packages and findings grouped into
 * targets the way Trivy groups its results (pkg/types/report.go: one result
 * per OS package database, class "os-pkgs"; one per lockfile, manifest or
 * binary, class "lang-pkgs"; installed Python, Node.js, Ruby and Java
 * packages gathered into one result each, pkg/scanner/langpkg PkgTargets), in
 * a deterministic order, and the few facts about a finding that more than one
 * report writes (its advisory URL, its package ID, its path without the
 * leading slash).
 */
import { severityRank, type Finding, type OsInfo, type Package, type PackageType, type ScanResult } from '../types.js';

/** Trivy's result classes for packages: OS packages or language packages. */
export type TargetClass = 'os-pkgs' | 'lang-pkgs';

/** One Trivy result: the packages of one target and the findings against them. */
export interface ReportTarget {
  /** `<image> (<family> <version>)` for OS packages; the file path (or Python/Node.js/Ruby/Java) otherwise. */
  target: string;
  class: TargetClass;
  /** Trivy's type: the OS family (debian, alpine, ...) or the language type (npm, jar, gobinary, ...). */
  type: string;
  /** True for the types whose packages are gathered from many files, so each finding names its own path. */
  aggregated: boolean;
  /** Sorted by name, version, path. */
  packages: Package[];
  /** Sorted as Trivy sorts: package name, installed version, severity (worst first), ID, path. */
  findings: Finding[];
}

const OS_PACKAGE_TYPES: ReadonlySet<PackageType> = new Set(['apk', 'dpkg', 'rpm']);

/** True for packages of the OS package managers (apk, dpkg, rpm). */
export function isOsPackage(pkg: Package): boolean {
  return OS_PACKAGE_TYPES.has(pkg.type);
}

/**
 * Trivy's OS family names (pkg/fanal/types/const.go, OSType) for the
 * os-release IDs that differ from them; any other ID is its own family.
 */
const TRIVY_OS_FAMILY: Readonly<Record<string, string>> = {
  rhel: 'redhat',
  almalinux: 'alma',
  amzn: 'amazon',
  ol: 'oracle',
  'opensuse-leap': 'opensuse.leap',
  'opensuse-tumbleweed': 'opensuse.tumbleweed',
  sles: 'suse linux enterprise server',
  mariner: 'cbl-mariner',
};

/** The OS family as Trivy writes it in `Type` and `Metadata.OS.Family`. */
export function trivyOsFamily(os: OsInfo): string {
  return TRIVY_OS_FAMILY[os.id] ?? os.id;
}

/**
 * Trivy's language types (pkg/fanal/types/const.go, LangType) by the file a
 * package was found in: lockfiles and manifests by their name, everything else
 * by what the cataloger reads from installed files or binaries.
 */
const LANG_TYPE_BY_FILE: Readonly<Record<string, string>> = {
  'package-lock.json': 'npm',
  'npm-shrinkwrap.json': 'npm',
  'yarn.lock': 'yarn',
  'pnpm-lock.yaml': 'pnpm',
  'bun.lock': 'bun',
  'Pipfile.lock': 'pipenv',
  'poetry.lock': 'poetry',
  'uv.lock': 'uv',
  'go.mod': 'gomod',
  'go.sum': 'gomod',
  'pom.xml': 'pom',
  'gradle.lockfile': 'gradle',
  'Gemfile.lock': 'bundler',
  'Cargo.lock': 'cargo',
};

const LANG_TYPE_OTHERWISE: Readonly<Partial<Record<PackageType, string>>> = {
  npm: 'node-pkg',
  python: 'python-pkg',
  'go-module': 'gobinary',
  java: 'jar',
  gem: 'gemspec',
  cargo: 'rustbinary',
};

/** Trivy's targets for the types it gathers into one result (pkg/scanner/langpkg, PkgTargets). */
const AGGREGATED_TARGET: Readonly<Record<string, string>> = {
  'python-pkg': 'Python',
  'node-pkg': 'Node.js',
  gemspec: 'Ruby',
  jar: 'Java',
};

/** Trivy's language type for a package, from its PackageType and the name of the file it was found in. */
export function trivyLangType(pkg: Package): string {
  const base = pkg.path.slice(pkg.path.lastIndexOf('/') + 1);
  if (pkg.type === 'python' && /^requirements.*\.txt$/.test(base)) return 'pip';
  return LANG_TYPE_BY_FILE[base] ?? LANG_TYPE_OTHERWISE[pkg.type] ?? pkg.type;
}

/** The path as Trivy writes targets and package paths: relative to the image root. */
export function relativePath(path: string): string {
  return path.replace(/^\/+/, '');
}

/**
 * Trivy's package ID (pkg/dependency/id.go): `name@version`; Maven
 * coordinates `group:artifact:version`; RPM packages carry their
 * architecture, as in `audit-libs@2.8.5-4.el7.x86_64`.
 */
export function packageId(pkg: Package): string {
  if (pkg.type === 'java') return `${pkg.name}:${pkg.version}`;
  if (pkg.type === 'rpm' && pkg.arch) return `${pkg.name}@${pkg.version}.${pkg.arch}`;
  return `${pkg.name}@${pkg.version}`;
}

/**
 * The page of a vulnerability in the OSV database, where berth's advisories
 * come from; osv.dev serves every OSV ID and every alias (CVE, GHSA) there.
 */
export function advisoryUrl(id: string): string {
  return `https://osv.dev/vulnerability/${encodeURIComponent(id)}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Trivy's order of findings within a result (pkg/types/vulnerability.go, BySeverity). */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareText(a.package.name, b.package.name) ||
    compareText(a.installedVersion, b.installedVersion) ||
    severityRank(a.severity) - severityRank(b.severity) ||
    compareText(a.id, b.id) ||
    compareText(a.package.path, b.package.path)
  );
}

function comparePackages(a: Package, b: Package): number {
  return compareText(a.name, b.name) || compareText(a.version, b.version) || compareText(a.path, b.path);
}

/** The key a package is found under: one package at one path. */
function packageKey(pkg: Package): string {
  return `${pkg.purl}\u0000${pkg.path}`;
}

/**
 * The targets of a scan: the OS packages first (when there are any), then the
 * language targets ordered by target and type. A finding whose package is not
 * among `result.packages` still gets its target from its own package.
 */
export function reportTargets(result: ScanResult): ReportTarget[] {
  const byKey = new Map<string, ReportTarget>();
  const targetOf = (pkg: Package): ReportTarget => {
    const os = isOsPackage(pkg);
    const type = os ? (result.os ? trivyOsFamily(result.os) : pkg.type) : trivyLangType(pkg);
    const aggregated = !os && type in AGGREGATED_TARGET;
    const target = os
      ? `${result.artifact.name} (${[type, result.os?.versionId].filter(Boolean).join(' ')})`
      : (AGGREGATED_TARGET[type] ?? relativePath(pkg.path));
    const key = `${os ? 0 : 1}\u0000${target}\u0000${type}`;
    let t = byKey.get(key);
    if (!t) {
      t = { target, class: os ? 'os-pkgs' : 'lang-pkgs', type, aggregated, packages: [], findings: [] };
      byKey.set(key, t);
    }
    return t;
  };
  const seen = new Set<string>();
  for (const pkg of result.packages) {
    if (seen.has(packageKey(pkg))) continue;
    seen.add(packageKey(pkg));
    targetOf(pkg).packages.push(pkg);
  }
  for (const finding of result.findings) targetOf(finding.package).findings.push(finding);
  const keys = [...byKey.keys()].sort(compareText);
  return keys.map((k) => {
    const t = byKey.get(k) as ReportTarget;
    t.packages.sort(comparePackages);
    t.findings.sort(compareFindings);
    return t;
  });
}
