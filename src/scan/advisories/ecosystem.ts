import type { OsInfo, Package } from '../types.js';
import { normalizePackageName } from './osv.js';

/**
 * Where a package's advisories are filed in OSV: the ecosystem strings (with
 * the release suffix for distributions, as osv-schema's "Defined ecosystems"
 * table spells them), the package names advisories use there, and the version
 * to compare against their ranges.
 */
export interface AdvisoryQuery {
  /** Exact ecosystem strings: `Debian:12`, `Alpine:v3.19`, `npm`. */
  ecosystems: string[];
  /** Ecosystem prefixes for streams a release spreads over (Red Hat's `enterprise_linux:9::baseos`, `::appstream`). */
  prefixes: string[];
  names: string[];
  version: string;
}

/** Major version (`9.3` -> `9`), undefined when VERSION_ID does not start with a number. */
function major(versionId: string | undefined): string | undefined {
  return /^(\d+)/.exec(versionId ?? '')?.[1];
}

/**
 * The OS release's ecosystems for its package type. Unknown distributions,
 * and releases without a VERSION_ID where the ecosystem needs one, give
 * undefined: their packages are not matched rather than matched against
 * another release's fixes.
 */
function osEcosystems(type: Package['type'], os: OsInfo | undefined): Pick<AdvisoryQuery, 'ecosystems' | 'prefixes'> | undefined {
  if (!os) return undefined;
  const v = os.versionId;
  const one = (e: string | undefined) => (e ? { ecosystems: [e], prefixes: [] } : undefined);
  switch (`${type}/${os.id}`) {
    case 'dpkg/debian':
      // Debian's ecosystem takes the numeric release, or the series name for sid.
      return one(v ? `Debian:${v}` : os.versionCodename === 'sid' ? 'Debian:sid' : undefined);
    case 'dpkg/ubuntu':
      // LTS releases carry a mandatory `:LTS` suffix; asking for both forms needs no release table.
      return v ? { ecosystems: [`Ubuntu:${v}`, `Ubuntu:${v}:LTS`], prefixes: [] } : undefined;
    case 'apk/alpine': {
      const branch = /^(\d+\.\d+)/.exec(v ?? '')?.[1];
      return one(branch && `Alpine:v${branch}`);
    }
    case 'apk/wolfi':
      return one('Wolfi');
    case 'apk/chainguard':
      return one('Chainguard');
    case 'rpm/almalinux':
      return one(major(v) && `AlmaLinux:${major(v)}`);
    case 'rpm/rocky':
      return one(major(v) && `Rocky Linux:${major(v)}`);
    case 'rpm/rhel':
      // Red Hat scopes RPMs by CPE stream: cpe:/o:redhat:enterprise_linux:9::baseos -> `Red Hat:enterprise_linux:9::baseos`.
      return major(v) ? { ecosystems: [], prefixes: [`Red Hat:enterprise_linux:${major(v)}::`] } : undefined;
    case 'rpm/opensuse-leap':
    case 'rpm/opensuse-tumbleweed':
      return one(os.prettyName && `openSUSE:${os.prettyName}`);
    case 'rpm/sles':
      return one(os.prettyName && `SUSE:${os.prettyName}`);
    case 'rpm/mageia':
      return one(v && `Mageia:${v}`);
    case 'rpm/photon':
      return one(v && `Photon OS:${v}`);
    default:
      return undefined;
  }
}

/** `openssl-3.0.7-24.el9.src.rpm` -> `openssl`; a plain name is kept. */
function rpmSourceName(source: string): string {
  const m = /^(.+)-[^-]+-[^-]+\.src\.rpm$/.exec(source);
  return m?.[1] ?? source;
}

const LANGUAGE: Partial<Record<Package['type'], string>> = {
  npm: 'npm',
  python: 'PyPI',
  'go-module': 'Go',
  java: 'Maven',
  gem: 'RubyGems',
  cargo: 'crates.io',
};

/**
 * Maps an installed package to the OSV ecosystem(s), names and version to
 * look advisories up by. Debian, Ubuntu and Alpine file advisories under the
 * source package (dpkg `Source:`, apk origin) and compare source versions;
 * RPM distributions mix source and binary names, so both are asked for. Go
 * versions lose their `v` (and the toolchain's `go`) prefix, as OSV writes
 * them. Undefined when the package's ecosystem is unknown.
 */
export function advisoryQuery(pkg: Package, os: OsInfo | undefined): AdvisoryQuery | undefined {
  const language = LANGUAGE[pkg.type];
  if (language) {
    const version = language === 'Go' ? pkg.version.replace(/^(v|go)(?=\d)/, '') : pkg.version;
    return { ecosystems: [language], prefixes: [], names: [normalizePackageName(language, pkg.name)], version };
  }
  const where = osEcosystems(pkg.type, os);
  if (!where) return undefined;
  if (pkg.type === 'rpm') {
    const names = [pkg.name];
    if (pkg.source?.name) names.push(rpmSourceName(pkg.source.name));
    return { ...where, names: [...new Set(names)], version: pkg.version };
  }
  return { ...where, names: [pkg.source?.name ?? pkg.name], version: pkg.source?.version ?? pkg.version };
}
